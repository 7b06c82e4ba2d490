import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { IgluError } from '../../src/errors.js';
import { fetchPackage } from '../../src/packages/fetch.js';
import { listTarball, packPkgdir } from '../../src/packages/pack.js';
import { PackagePaths } from '../../src/layout/package-paths.js';
import { recipeHash } from '../../src/packages/recipe-hash.js';
import { DEFAULT_TREE } from '../../src/recipes/default-tree.js';
import { readRecipe } from '../../src/recipes/read.js';
import { SourceCache } from '../../src/sources/cache.js';
import type { SeedResult } from '../../src/sources/seed.js';
import { Workdir } from '../../src/layout/workdir.js';
import { packageWorkspace, srcdirOf } from '../../src/packages/workspace.js';
import { CLI, iglu, igluJson, scratchDir } from '../support/cli.js';

// The source cache and the fetch phase on the host, with real upstream tarballs from
// Debian's source archive (apt-get source) and the real package runner in mksh.
const MUSL = 'https://musl.libc.org/releases/musl-1.2.3.tar.gz';
const MUSL_SHA = '7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4';
const FIXTURES = path.resolve(import.meta.dirname, '../../../test/fixtures/fetch-tree');
const cats = new Set(['base', 'extra']);

describe('source cache (real sources, offline)', { timeout: 300_000 }, () => {
  const root = mkdtempSync(path.join(tmpdir(), 'iglu-src-'));
  const wd = ['--workdir', root];
  const workdir = new Workdir(root);
  const cache = SourceCache.of(workdir);
  const paths = new PackagePaths(workdir);

  test('seed fills the cache from Debian source packages, checked against the pins; a rerun does nothing', async () => {
    const first = await igluJson<{ sources: SeedResult[] }>([...wd, 'sources', 'seed']);
    assert.equal(first.sources.length, 8, 'compiler-rt (LLVM), musl, busybox, mksh, zlib, linux, toybox, zstd');
    assert.ok(first.sources.every((s) => s.action === 'seeded'));
    for (const repack of ['llvm-project', 'toybox', 'zstd']) assert.equal(first.sources.find((s) => s.url.includes(repack))?.upstream, 'repack', repack);
    assert.equal(first.sources.find((s) => s.url.includes('zlib'))?.upstream, 'repack');
    assert.equal(first.sources.find((s) => s.url.includes('linux-6.1'))?.upstream, 'repack');
    const again = await igluJson<{ sources: SeedResult[] }>([...wd, 'sources', 'seed']);
    assert.ok(again.sources.length === 8 && again.sources.every((s) => s.action === 'present'));
    const list = await igluJson<{ sources: { url: string; sha256: string; present: boolean }[] }>([...wd, 'sources', 'list']);
    assert.equal(list.sources.find((s) => s.url === MUSL)?.sha256, MUSL_SHA);
    assert.equal((await iglu([...wd, 'sources', 'verify'])).code, 0);
  });

  test('Ctrl-C during seeding: exit 130 at once, apt-get stopped, nothing imported, no scratch left', async () => {
    const fresh = scratchDir('iglu-seedint-');
    const scratchBefore = readdirSync(tmpdir()).filter((f) => f.startsWith('iglu-seed-'));
    const apt = async () => (await execa('pgrep', ['-f', 'apt-get source --download-only'], { reject: false })).exitCode === 0;
    const child = execa('node', [CLI, '--workdir', fresh, 'sources', 'seed'], { reject: false, stdin: 'ignore' });
    for (let i = 0; i < 600 && !(await apt()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(await apt(), 'apt-get is downloading');
    const interruptedAt = Date.now();
    child.kill('SIGINT');
    const r = await child;
    assert.equal(r.exitCode, 130, String(r.stderr));
    assert.ok(Date.now() - interruptedAt < 15_000, 'stopped at once');
    assert.equal(await apt(), false, 'apt-get is stopped');
    assert.deepEqual(existsSync(path.join(fresh, 'sources/sha256')) ? readdirSync(path.join(fresh, 'sources/sha256')) : [], [], 'nothing was imported');
    assert.deepEqual(
      readdirSync(tmpdir()).filter((f) => f.startsWith('iglu-seed-') && !scratchBefore.includes(f)),
      [],
      'the scratch directory is removed',
    );
  });

  test('fetch runs the recipe offline through the cache and records the sources it used', async () => {
    const recipe = await readRecipe(path.join(DEFAULT_TREE, 'base/musl/build.sh'), cats);
    const sha = await recipeHash(recipe.file);
    const got = await fetchPackage(recipe, sha, { paths, cache, offline: true });
    assert.deepEqual(got, { sources: [{ url: MUSL, sha256: MUSL_SHA, size: 1058642 }], reused: false });
    assert.ok(existsSync(path.join(srcdirOf(packageWorkspace(paths, recipe)), 'musl-1.2.3/configure')), "unpacked in the workspace's upper layer");
    const again = await fetchPackage(recipe, sha, { paths, cache, offline: true });
    assert.equal(again.reused, true);
  });

  test('importing other content for a pinned URL is refused unless --force', async () => {
    const other = path.join(root, 'other.tar.gz');
    writeFileSync(other, 'not musl');
    const r = await iglu([...wd, 'sources', 'import', other, '--url', MUSL]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`sha256 mismatch for ${MUSL}: expected ${MUSL_SHA}, got [0-9a-f]{64}`));
    assert.equal((await cache.readLock()).sources[MUSL]?.sha256, MUSL_SHA, 'the pin is unchanged');
  });

  test('importing under something that is not a URL is refused; nothing is pinned', async () => {
    const file = path.join(root, 'some.tar.gz');
    writeFileSync(file, 'some file');
    const before = Object.keys((await cache.readLock()).sources).length;
    const r = await iglu([...wd, 'sources', 'import', file, '--url', 'not a url']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"not a url" is not a URL a recipe can fetch: expected http:\/\/ or https:\/\/ with a host/);
    assert.equal(Object.keys((await cache.readLock()).sources).length, before);
  });

  test('a URL not in the cache while offline is a clear error with the log path', async () => {
    const recipe = await readRecipe(path.join(FIXTURES, 'base/offline/build.sh'), cats);
    await assert.rejects(
      fetchPackage(recipe, await recipeHash(recipe.file), { paths, cache, offline: true }),
      (e: unknown) =>
        e instanceof IgluError &&
        /offline 1\.0: fetch failed/.test(e.message) &&
        /source not in the cache, and iglu is offline: https:\/\/example.invalid\/offline-1.0.tar.gz/.test(e.message) &&
        e.hint === `the whole log is ${paths.logFile('offline')}`,
    );
  });

  test('a damaged cached file: verify names it, fetch refuses it, nothing is deleted', async () => {
    const blob = cache.blob(MUSL_SHA);
    appendFileSync(blob, 'x');
    const v = await iglu([...wd, 'sources', 'verify']);
    assert.equal(v.code, 1);
    assert.match(v.stdout, new RegExp(`mismatch +${MUSL.replace(/\./g, '\\.')} \\(expected ${MUSL_SHA}, got [0-9a-f]{64}\\)`));
    await assert.rejects(
      cache.fetch(MUSL, path.join(root, 'out.tgz'), { offline: true }),
      (e: unknown) => e instanceof IgluError && e.message.includes(`expected ${MUSL_SHA}, got`),
    );
    assert.ok(existsSync(blob), 'the damaged file is kept for inspection');
    assert.equal((await cache.readLock()).sources[MUSL]?.sha256, MUSL_SHA);
    // a good copy repairs it
    const good = path.join(root, 'good.tgz');
    await execa('sh', ['-c', `head -c 1058642 ${blob} > ${good}`]);
    assert.equal((await iglu([...wd, 'sources', 'import', good, '--url', MUSL, '--force'])).code, 0);
    assert.equal((await iglu([...wd, 'sources', 'verify'])).code, 0);
  });

  test('packing: sorted, 0:0, fixed mtimes, identical bytes twice; a failed pack leaves nothing', async () => {
    const pkgdir = path.join(root, 'pkg');
    await execa('sh', [
      '-c',
      `mkdir -p ${pkgdir}/usr/bin ${pkgdir}/lib && echo b > ${pkgdir}/usr/bin/b && echo a > ${pkgdir}/lib/a && ln -sf a ${pkgdir}/lib/l && chown -R 1234:1234 ${pkgdir} && touch -d 2021-05-05 ${pkgdir}/lib/a`,
    ]);
    const one = await packPkgdir(pkgdir, path.join(root, 'out/p.1.tar.zst'), 946684800);
    await execa('touch', [path.join(pkgdir, 'usr/bin/b')]);
    const two = await packPkgdir(pkgdir, path.join(root, 'out/p.2.tar.zst'), 946684800);
    assert.equal(one.sha256, two.sha256);
    assert.deepEqual(
      one.files.map((f) => f.path),
      ['lib/', 'lib/a', 'lib/l', 'usr/', 'usr/bin/', 'usr/bin/b'],
    );
    assert.deepEqual(
      (await listTarball(path.join(root, 'out/p.1.tar.zst'))).map((f) => f.type),
      ['directory', 'file', 'symlink', 'directory', 'directory', 'file'],
    );
    const verbose = (await execa('sh', ['-c', `zstd -dc ${root}/out/p.1.tar.zst | tar -tv --numeric-owner`])).stdout;
    for (const line of verbose.split('\n')) assert.match(line, / 0\/0 .* 2000-01-01 00:00 /);
    // the output's directory is a file: nothing half-written may remain
    writeFileSync(path.join(root, 'blocked'), '');
    await assert.rejects(packPkgdir(pkgdir, path.join(root, 'blocked/p.tar.zst'), 0), IgluError);
    assert.deepEqual(readdirSync(path.join(root, 'out')).sort(), ['p.1.tar.zst', 'p.2.tar.zst']);
    assert.ok(readFileSync(path.join(root, 'out/p.1.tar.zst')).length > 0);
  });
});

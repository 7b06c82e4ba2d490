import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { IgluError } from '../../src/errors.js';
import type { PackageManifest } from '../../src/packages/manifest.js';
import { writeManifest } from '../../src/packages/pack.js';
import { PackagePaths } from '../../src/packages/paths.js';
import { PackageStore } from '../../src/store/package-store.js';
import { publishToStore, restoreFromStore } from '../../src/store/package-transfer.js';
import { Workdir } from '../../src/workdir.js';

const INPUTS = 'a'.repeat(64);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A work directory whose out/ holds zlib and its subpackage zlib-dev as a build leaves them, and its log. */
async function builtHere(tmp: string, name: string) {
  const paths = new PackagePaths(new Workdir(path.join(tmp, name)));
  mkdirSync(paths.outDir, { recursive: true });
  mkdirSync(path.dirname(paths.logFile('zlib')), { recursive: true });
  const manifests: PackageManifest[] = [];
  for (const pkg of ['zlib', 'zlib-dev']) {
    const bytes = `tarball of ${pkg}\n`;
    writeFileSync(paths.tarball(pkg, '1.3'), bytes);
    const m = {
      name: pkg, version: '1.3', release: '1', recipe: { file: 'libs/zlib/build.sh', sha256: sha('recipe') },
      sources: [{ url: 'https://example.org/zlib-1.3.tar.gz', sha256: sha('src'), size: 3, at: '2026-01-01T00:00:00Z' }],
      tarball: { file: `${pkg}.1.3.tar.zst`, sha256: sha(bytes), size: bytes.length }, files: [], installedSize: 0,
      build: { at: '2026-01-01T00:00:00Z', seconds: 1, where: 'chroot' }, inputs: INPUTS,
    } as unknown as PackageManifest;
    await writeManifest(paths.manifest(pkg, '1.3'), m);
    manifests.push(m);
  }
  writeFileSync(paths.logFile('zlib'), 'zlib: built\n');
  return { paths, manifests };
}

async function emptyStore(tmp: string) {
  const store = new PackageStore(path.join(tmp, 'store'));
  await store.init();
  return store;
}

test('a published build is restored into another work directory: every output, its manifest and the log it was built with', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'iglu-pkgstore-'));
  const store = await emptyStore(tmp);
  const { paths, manifests } = await builtHere(tmp, 'a');
  const record = await publishToStore(store, INPUTS, manifests, paths, paths.logFile('zlib'));
  assert.deepEqual(record.outputs.map((o) => o.name), ['zlib', 'zlib-dev']);
  assert.equal(record.log, sha('zlib: built\n'));

  const other = new PackagePaths(new Workdir(path.join(tmp, 'b')));
  mkdirSync(other.outDir, { recursive: true });
  const got = await restoreFromStore(store, INPUTS, other, other.logFile('zlib'));
  assert.deepEqual(got?.map((m) => m.name), ['zlib', 'zlib-dev'], 'the main package first');
  for (const pkg of ['zlib', 'zlib-dev']) {
    assert.equal(readFileSync(other.tarball(pkg, '1.3'), 'utf8'), `tarball of ${pkg}\n`);
    assert.deepEqual(JSON.parse(readFileSync(other.manifest(pkg, '1.3'), 'utf8')), JSON.parse(readFileSync(paths.manifest(pkg, '1.3'), 'utf8')));
  }
  assert.equal(readFileSync(other.logFile('zlib'), 'utf8'), 'zlib: built\n');
  assert.deepEqual(readdirSync(other.outDir).filter((f) => f.startsWith('.')), [], 'no scratch directory is left in out/');
  assert.equal(await restoreFromStore(store, 'b'.repeat(64), other, other.logFile('zlib')), undefined, 'inputs never built: nothing');
});

test('a tarball changed after it was packed is never published, and no record names it', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'iglu-pkgstore-'));
  const store = await emptyStore(tmp);
  const { paths, manifests } = await builtHere(tmp, 'a');
  writeFileSync(paths.tarball('zlib-dev', '1.3'), 'changed afterwards\n');
  await assert.rejects(publishToStore(store, INPUTS, manifests, paths, paths.logFile('zlib')), (err: unknown) => err instanceof IgluError && /zlib-dev's tarball changed after it was packed/.test(err.message));
  assert.equal(await store.record(INPUTS), undefined);
});

test('a record whose manifest names another build is refused on restore, and out/ gets nothing of it', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'iglu-pkgstore-'));
  const store = await emptyStore(tmp);
  const { paths, manifests } = await builtHere(tmp, 'a');
  const record = await publishToStore(store, INPUTS, manifests, paths, paths.logFile('zlib'));
  // a record of other inputs that points at these blobs: its manifests say INPUTS, not OTHER
  const OTHER = 'c'.repeat(64);
  await store.publish({ ...record, inputs: OTHER });
  const other = new PackagePaths(new Workdir(path.join(tmp, 'b')));
  mkdirSync(other.outDir, { recursive: true });
  await assert.rejects(restoreFromStore(store, OTHER, other, other.logFile('zlib')), (err: unknown) => err instanceof IgluError && /does not match its manifest of zlib/.test(err.message));
  assert.deepEqual(readdirSync(other.outDir), [], 'no tarball, manifest or scratch directory');
});

test('restoring is all or nothing: a second output that does not match leaves out/ without the first', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'iglu-pkgstore-'));
  const store = await emptyStore(tmp);
  const { paths, manifests } = await builtHere(tmp, 'a');
  const record = await publishToStore(store, INPUTS, manifests, paths, paths.logFile('zlib'));
  // zlib-dev's entry names zlib's tarball: zlib checks out, zlib-dev does not
  await store.publish({ ...record, outputs: [record.outputs[0]!, { ...record.outputs[1]!, tarball: record.outputs[0]!.tarball }] });
  const other = new PackagePaths(new Workdir(path.join(tmp, 'b')));
  mkdirSync(other.outDir, { recursive: true });
  await assert.rejects(restoreFromStore(store, INPUTS, other, other.logFile('zlib')), /does not match its manifest of zlib-dev/);
  assert.deepEqual(readdirSync(other.outDir), [], 'zlib was not put in place either');
});

test('a record whose manifest blob is not a manifest is refused with the store\'s error, not a parser\'s', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'iglu-pkgstore-'));
  const store = await emptyStore(tmp);
  const { paths, manifests } = await builtHere(tmp, 'a');
  const record = await publishToStore(store, INPUTS, manifests, paths, paths.logFile('zlib'));
  // the log blob (plain text) named as zlib's manifest
  await store.publish({ ...record, outputs: [{ ...record.outputs[0]!, manifest: record.log }] });
  const other = new PackagePaths(new Workdir(path.join(tmp, 'b')));
  mkdirSync(other.outDir, { recursive: true });
  await assert.rejects(restoreFromStore(store, INPUTS, other, other.logFile('zlib')), (err: unknown) => err instanceof IgluError && /does not match its manifest of zlib/.test(err.message));
  assert.deepEqual(readdirSync(other.outDir), []);
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import * as tar from 'tar';
import { ServeSchema } from '../../src/config/serve-schema.js';
import { ServePaths } from '../../src/layout/serve-paths.js';
import { Workdir } from '../../src/layout/workdir.js';
import { hashDirectory } from '../../src/packages/recipe-hash.js';
import { checkBundle, memberProblem } from '../../src/serve/bundle-check.js';
import { linkProblems } from '../../src/serve/bundle-links.js';
import { layTaskTree } from '../../src/serve/task-tree.js';
import { checkUnpacked } from '../../src/serve/unpacked-check.js';
import { TaskService } from '../../src/serve/service.js';
import { TaskDb } from '../../src/serve/task-db.js';
import { BuildWorker } from '../../src/serve/worker.js';
import { craftTar } from '../support/serve.js';

// Bundles a stranger with a submit token sends: sizes that lie (sparse members, hard
// links), compression bombs, links that leave the bundle only together. Each is made here
// with the tools a submitter has (GNU tar, zstd, Python's tarfile) and checked as the
// service checks an upload (checkBundle, serve.maxUnpackedMiB of 2 MiB).

const MiB = 1024 * 1024;
const limits = { unpackedBytes: 2 * MiB, members: 1000 };

/** A scratch directory holding a recipe `base/x/build.sh`. */
function recipeDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-hostile-bundle-'));
  mkdirSync(path.join(dir, 'base/x'), { recursive: true });
  writeFileSync(path.join(dir, 'base/x/build.sh'), 'pkgname=x\npkgver=1\n');
  return dir;
}

test('sparse members are refused: three 1,900 MiB holes in a few KB (pax GNU.sparse.* and old GNU sparse headers)', async () => {
  const dir = recipeDir();
  for (const n of [1, 2, 3]) await execa('truncate', ['-s', `${1900 * MiB}`, path.join(dir, `base/x/hole${n}`)]);
  for (const format of ['pax', 'gnu']) {
    const file = path.join(dir, `${format}.tar`);
    await execa('tar', ['--sparse', `--format=${format}`, '-C', dir, '-cf', file, 'base']);
    assert.ok(statSync(file).size < 100 * 1024, `${format}: the archive is small (${statSync(file).size} bytes)`);
    const r = await checkBundle(file, limits);
    assert.equal(r.summary, undefined, `${format}: refused`);
    assert.match(r.problems.join('; '), /hole1: a (sparse file|SparseFile member)/, format);
  }
});

test('a hard link counts its target’s size: four names of one 1 MiB file pass 2 MiB', async () => {
  const dir = recipeDir();
  writeFileSync(path.join(dir, 'base/x/big'), Buffer.alloc(MiB, 1));
  for (const n of [1, 2, 3]) linkSync(path.join(dir, 'base/x/big'), path.join(dir, `base/x/big${n}`));
  const file = path.join(dir, 'links.tar');
  await execa('tar', ['-C', dir, '-cf', file, 'base']);
  const r = await checkBundle(file, limits);
  assert.equal(r.summary, undefined);
  assert.match(r.problems.join('; '), /bytes unpacked, more than the 2097152/);
  // two names stay under the limit and count 2 MiB
  const two = recipeDir();
  writeFileSync(path.join(two, 'base/x/big'), Buffer.alloc(MiB / 2, 1));
  linkSync(path.join(two, 'base/x/big'), path.join(two, 'base/x/big1'));
  await execa('tar', ['-C', two, '-cf', path.join(two, 'b.tar'), 'base']);
  assert.equal((await checkBundle(path.join(two, 'b.tar'), limits)).summary?.unpackedBytes, MiB + 'pkgname=x\npkgver=1\n'.length);
});

test('a directory of 100 hard links to one file is hashed reading the file once; an aborted signal stops the hash', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-dirhash-links-'));
  writeFileSync(path.join(dir, 'big'), Buffer.alloc(MiB, 7));
  for (let n = 0; n < 100; n++) linkSync(path.join(dir, 'big'), path.join(dir, `l${n}`));
  const first = await hashDirectory(dir);
  assert.equal(first.bytesRead, MiB, 'one read of the file, not 101');
  writeFileSync(path.join(dir, 'big'), Buffer.alloc(MiB, 8));
  assert.notEqual((await hashDirectory(dir)).sha256, first.sha256, 'a change to the linked file changes it');
  const ac = new AbortController();
  ac.abort(new Error('cancelled'));
  await assert.rejects(hashDirectory(dir, ac.signal), /cancelled/);
});

/** A zstd file of `frames` frames of 128 MiB of zeros after a first frame of `head` (frames concatenate). */
async function zstdBomb(file: string, head: Buffer, frames: number): Promise<void> {
  const zeros = (await execa('zstd', ['-1', '-c'], { input: Buffer.alloc(128 * MiB), encoding: 'buffer' })).stdout;
  const first = (await execa('zstd', ['-c'], { input: head, encoding: 'buffer' })).stdout;
  writeFileSync(file, Buffer.concat([first, ...Array.from({ length: frames }, () => zeros)]));
}

test('a compression bomb is refused after reading about the limit, never its expansion (20 GiB in a few hundred KB)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-bomb-'));
  // one member declaring 20 GiB of zeros: refused at its header
  const header = Buffer.alloc(512);
  new tar.Header({ path: 'base/x/zeros', mode: 0o644, size: 20 * 1024 * MiB, type: 'File', mtime: new Date(0) }).encode(header, 0);
  await zstdBomb(path.join(dir, 'member.tar.zst'), header, 160);
  assert.ok(statSync(path.join(dir, 'member.tar.zst')).size < 1024 * 1024);
  const member = await checkBundle(path.join(dir, 'member.tar.zst'), limits);
  assert.equal(member.summary, undefined);
  assert.match(member.problems.join('; '), /21474836480 bytes unpacked, more than the 2097152/);
  assert.ok(member.plainBytes < limits.unpackedBytes, `stopped at the header: ${member.plainBytes} bytes read`);
  // a good recipe, then 20 GiB of zeros after the tar's end: refused once the tar passes what its members may take
  const good = recipeDir();
  await execa('tar', ['-C', good, '-cf', path.join(good, 'good.tar'), 'base']);
  await zstdBomb(path.join(dir, 'trail.tar.zst'), readFileSync(path.join(good, 'good.tar')), 160);
  const trail = await checkBundle(path.join(dir, 'trail.tar.zst'), limits);
  assert.equal(trail.summary, undefined);
  assert.match(trail.problems.join('; '), /more than they may take/);
  assert.ok(trail.plainBytes < limits.unpackedBytes + 8 * MiB, `stopped past the limit: ${trail.plainBytes} bytes read`);
  // gzip too (node:zlib): the same member bomb, 64 MiB
  await execa('sh', ['-c', `{ cat; head -c ${64 * MiB} /dev/zero; } | gzip -1 > ${path.join(dir, 'member.tar.gz')}`], { input: header });
  const gz = await checkBundle(path.join(dir, 'member.tar.gz'), limits);
  assert.equal(gz.summary, undefined);
  assert.ok(gz.plainBytes < limits.unpackedBytes, `gzip: ${gz.plainBytes} bytes read`);
});

test('links are resolved through the links of the bundle, before or after them: u1 -> .., u2 -> u1/.., … pw -> u10/etc/passwd is refused', async () => {
  const chain = [
    { name: 'c/sl/u1', type: 'symlink', target: '..' },
    ...Array.from({ length: 9 }, (_, i) => ({ name: `c/sl/u${i + 2}`, type: 'symlink', target: `u${i + 1}/..` })),
    { name: 'c/sl/pw', type: 'symlink', target: 'u10/etc/passwd' },
  ];
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-links-'));
  const file = path.join(dir, 'chain.tar');
  await craftTar(file, [{ name: 'base/x/build.sh', type: 'file', data: 'pkgname=x\npkgver=1\n' }, ...chain]);
  const r = await checkBundle(file, limits);
  assert.equal(r.summary, undefined);
  assert.match(r.problems.join('; '), /c\/sl\/u3: a link that leads out of the bundle \(u2\/\.\.\)/);
  assert.match(r.problems.join('; '), /c\/sl\/pw: a link that leads out of the bundle/);
  // a pax linkpath holding a newline: node-tar drops the record (and checks the ustar "build.sh"), GNU tar makes l -> "d\n/../../../../etc/passwd"
  const pax = `
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo('base/x/build.sh'); d = b'pkgname=x\\npkgver=1\\n'; i.size = len(d); t.addfile(i, io.BytesIO(d))
    i = tarfile.TarInfo('base/x/d\\n'); i.type = tarfile.DIRTYPE; t.addfile(i)
    i = tarfile.TarInfo('base/x/l'); i.type = tarfile.SYMTYPE; i.linkname = 'build.sh'
    i.pax_headers = {'linkpath': 'd\\n/../../../../etc/passwd'}; t.addfile(i)
`;
  await execa('python3', ['-c', pax, path.join(dir, 'pax.tar')]);
  const differs = await checkBundle(path.join(dir, 'pax.tar'), limits);
  assert.equal(differs.summary, undefined);
  assert.match(differs.problems.join('; '), /a pax header with a record tar reads otherwise/);
  // the order does not matter: the link used first and defined last
  assert.match(
    linkProblems([
      { path: 'a/p', type: 'SymbolicLink', linkpath: 'd/../../x' },
      { path: 'a/d', type: 'SymbolicLink', linkpath: '..' },
    ]).join(),
    /a\/p: a link that leads out/,
  );
  // a hard link through a link
  assert.match(
    linkProblems([
      { path: 'a/d', type: 'SymbolicLink', linkpath: '../..' },
      { path: 'h', type: 'Link', linkpath: 'a/d/etc/shadow' },
    ]).join(),
    /h: a hard link whose target leads out/,
  );
  // members written through a link, a link and a directory of one name, loops
  assert.match(
    linkProblems([
      { path: 'a/d', type: 'SymbolicLink', linkpath: '../b' },
      { path: 'a/d/f', type: 'File' },
    ]).join(),
    /a\/d\/f: a member below the symbolic link a\/d/,
  );
  assert.match(
    linkProblems([
      { path: 'a/d', type: 'SymbolicLink', linkpath: 'e' },
      { path: 'a/d/', type: 'Directory' },
    ]).join(),
    /a\/d: a symbolic link and another member/,
  );
  assert.match(
    linkProblems([
      { path: 'a', type: 'SymbolicLink', linkpath: 'b/x' },
      { path: 'b', type: 'SymbolicLink', linkpath: 'a/x' },
    ]).join(),
    /passes more than 40 links/,
  );
  // what real bundles hold passes: links to patches beside, to the top, and chains that stay inside
  const fine = [
    { path: 'base/x/p', type: 'SymbolicLink', linkpath: '../../patches/a.patch' },
    { path: 'base/y/q', type: 'SymbolicLink', linkpath: '../x/p' },
    { path: 'base/z/u', type: 'SymbolicLink', linkpath: '..' },
    { path: 'base/z/v', type: 'SymbolicLink', linkpath: 'u/x/build.sh' },
    { path: 'base/z/h', type: 'Link', linkpath: 'base/z/u/x/build.sh' },
  ];
  assert.deepEqual(linkProblems(fine), []);
  // many deep names beside a link: refused once the check passes its budget, not worked through
  const deep = Array.from({ length: 3000 }, (_, i) => ({ path: `${'a/'.repeat(1000)}f${i}`, type: 'File' }));
  assert.match(linkProblems([{ path: 'b', type: 'SymbolicLink', linkpath: 'a' }, ...deep]).join(), /more than 1000000 steps to check/);
  assert.match(memberProblem({ path: 'x/'.repeat(2049), type: 'Directory', size: 0 })!, /longer than 4096 bytes/);
  assert.match(memberProblem({ path: 'l', type: 'SymbolicLink', size: 0, linkpath: 'a/'.repeat(2049) })!, /longer than 4096 bytes/);
});

test('the bundle check still passes an ordinary bundle, gzip and zstd', async () => {
  const dir = recipeDir();
  writeFileSync(path.join(dir, 'base/x/fix.patch'), 'patch\n');
  chmodSync(path.join(dir, 'base/x/build.sh'), 0o755);
  for (const [flag, compression] of [
    ['-z', 'gzip'],
    ['--zstd', 'zstd'],
  ] as const) {
    await execa('tar', [flag, '-C', dir, '-cf', path.join(dir, 'b'), 'base']);
    const r = await checkBundle(path.join(dir, 'b'), limits);
    assert.deepEqual(r.problems, []);
    assert.equal(r.summary?.compression, compression);
    assert.deepEqual(r.summary?.recipes, ['base/x']);
  }
});

const branchTree = path.resolve(import.meta.dirname, '../../../test/fixtures/serve-tree');

test('a task tree is laid owned by root, with no set-id bit and nothing group- or world-writable; a cancel while its recipes are read stops it', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('the bundle is unpacked as the sandbox uid only as root');
  const dir = recipeDir();
  writeFileSync(path.join(dir, 'base/x/suid'), '#!/bin/sh\n');
  chmodSync(path.join(dir, 'base/x/suid'), 0o6777);
  chmodSync(path.join(dir, 'base/x'), 0o777);
  await execa('tar', ['-C', dir, '-czf', path.join(dir, 'b.tar.gz'), 'base']);
  const work = mkdtempSync(path.join(tmpdir(), 'iglu-lay-'));
  const tree = await layTaskTree({
    bundle: path.join(dir, 'b.tar.gz'),
    unpacked: path.join(work, 'unpacked'),
    branchTree,
    out: path.join(work, 'tree'),
    maxBytes: MiB,
  });
  assert.deepEqual(tree.packages, ['x']);
  assert.equal(lstatSync(path.join(work, 'unpacked/base/x/build.sh')).uid, 99_999, 'unpacked as the sandbox uid');
  for (const rel of ['base', 'base/x', 'base/x/build.sh', 'base/x/suid', 'base/greet/build.sh']) {
    const st = lstatSync(path.join(work, 'tree', rel));
    assert.equal(st.uid, 0, `${rel}: owned by root`);
    assert.equal(st.mode & 0o6022, 0, `${rel}: mode ${st.mode.toString(8)}`);
  }
  // a recipe whose top level takes 8 s to read (under the reader's 10 s): the cancel stops the reading, nothing is laid
  const slow = recipeDir();
  writeFileSync(path.join(slow, 'base/x/build.sh'), 'sleep 8\npkgname=x\npkgver=1\n');
  await execa('tar', ['-C', slow, '-cf', path.join(slow, 'b.tar'), 'base']);
  const ac = new AbortController();
  const laying = layTaskTree({
    bundle: path.join(slow, 'b.tar'),
    unpacked: path.join(work, 'u2'),
    branchTree,
    out: path.join(work, 't2'),
    maxBytes: MiB,
    signal: ac.signal,
  });
  // cancelled once the bundle is unpacked, while its recipe is read
  const unpacked = path.join(work, 'u2', 'base/x/build.sh');
  const poll = setInterval(() => existsSync(unpacked) && (clearInterval(poll), ac.abort(new Error('cancelled by alice'))), 50);
  await assert.rejects(laying, /cancelled by alice/).finally(() => clearInterval(poll));
  assert.ok(!existsSync(path.join(work, 't2')), 'no tree laid');
  assert.deepEqual(readdirSync(path.join(work, 'u2', 'base/x')), ['build.sh']);
});

test('what tar unpacked is checked again, nothing followed: a link chain out, a FIFO, more bytes than the limit', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-unpacked-'));
  mkdirSync(path.join(dir, 'c/sl'), { recursive: true });
  writeFileSync(path.join(dir, 'c/big'), Buffer.alloc(MiB));
  for (let n = 0; n < 3; n++) linkSync(path.join(dir, 'c/big'), path.join(dir, `c/big${n}`));
  await checkUnpacked(dir, MiB);
  symlinkSync('..', path.join(dir, 'c/sl/u1'));
  symlinkSync('u1/..', path.join(dir, 'c/sl/u2'));
  symlinkSync('u2/../etc/passwd', path.join(dir, 'c/sl/pw'));
  await assert.rejects(checkUnpacked(dir, MiB), /c\/sl\/pw: a link that leads out of the bundle/);
  const fifo = mkdtempSync(path.join(tmpdir(), 'iglu-unpacked-'));
  await execa('mkfifo', [path.join(fifo, 'p')]);
  writeFileSync(path.join(fifo, 'f'), Buffer.alloc(MiB + 1));
  await assert.rejects(checkUnpacked(fifo, MiB), /p: neither a file.*1048577 bytes unpacked, more than the 1048576/);
});

test('the worker lays a tree under its task’s cancel and serve.timeout: a bundle whose recipe takes 8 s to read ends cancelled, or failed past its limit, at once', async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'iglu-worker-'));
  const slow = recipeDir();
  writeFileSync(path.join(slow, 'base/x/build.sh'), 'sleep 8\npkgname=x\npkgver=1\n');
  const paths = new ServePaths(new Workdir(work));
  const db = new TaskDb(paths.db);
  try {
    const worker = (timeout: number) =>
      new BuildWorker({
        service: new TaskService(db, paths, ServeSchema.parse({ branches: { main: branchTree }, timeout })),
        paths,
        buildArgv: () => ['true'],
        farmProblem: async () => undefined,
        say: () => undefined,
      });
    const queued = async () => {
      const t = db.create({ owner: 'alice', ownerId: 'alice-id', branch: 'main', priority: 0 });
      mkdirSync(paths.task(t.id), { recursive: true });
      await execa('tar', ['-C', slow, '-cf', paths.bundle(t.id), 'base']);
      const sha256 = createHash('sha256')
        .update(readFileSync(paths.bundle(t.id)))
        .digest('hex');
      // as an upload records it: the worker checks the bundle against this sha256 before laying it
      db.update(t.id, (x) => ({ ...x, state: 'queued', queuedAt: new Date().toISOString(), bundle: { bytes: 0, sha256, members: 1 } }));
      return t.id;
    };
    const cancelled = await queued();
    const round = worker(7200).tick();
    // cancelled once the worker has claimed it and lays its tree (its recipe takes 8 s to read)
    const cancel = setInterval(() => {
      if (db.get(cancelled)?.state !== 'building') return;
      clearInterval(cancel);
      new TaskService(db, paths, ServeSchema.parse({})).cancel(cancelled, 'alice');
    }, 50);
    await round.finally(() => clearInterval(cancel));
    assert.equal(db.get(cancelled)?.state, 'cancelled', 'cancelled while its tree was laid');
    assert.equal(db.get(cancelled)?.reason, 'cancelled by alice');
    assert.ok(!existsSync(paths.tree(cancelled)), 'no tree laid');
    const late = await queued();
    await worker(1).tick();
    assert.equal(db.get(late)?.state, 'failed');
    assert.match(db.get(late)?.reason ?? '', /past its time limit of 1 s \(serve\.timeout\)/);
  } finally {
    db.close();
  }
});

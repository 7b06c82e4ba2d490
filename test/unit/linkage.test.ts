import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { depsClosure, manifestClosure } from '../../src/packages/closure.js';
import { missingLinks, resolveInRoot } from '../../src/disk/linkage.js';

test('missingLinks: a loader or a DT_NEEDED library the root lacks is named with its program', () => {
  const have = new Set(['/lib/ld-musl-x86_64.so.1', '/usr/lib/libc.so', '/usr/lib/libz.so.1']);
  const programs = [
    { path: '/bin/ok', interpreter: '/lib/ld-musl-x86_64.so.1', needed: ['libc.so', 'libz.so.1'] },
    { path: '/bin/zstd', interpreter: '/lib/ld-musl-x86_64.so.1', needed: ['libc.so', 'libzstd.so.1'] },
    { path: '/bin/glibcish', interpreter: '/lib64/ld-linux-x86-64.so.2', needed: ['libc.so'] },
  ];
  assert.deepEqual(
    missingLinks(programs, (p) => have.has(p)),
    [
      { program: '/bin/zstd', kind: 'library', name: 'libzstd.so.1' },
      { program: '/bin/glibcish', kind: 'interpreter', name: '/lib64/ld-linux-x86-64.so.2' },
    ],
  );
  // only the search path counts: a library in /opt is not found
  assert.deepEqual(
    missingLinks([{ path: '/bin/x', needed: ['libq.so'] }], (p) => p === '/opt/libq.so'),
    [{ program: '/bin/x', kind: 'library', name: 'libq.so' }],
  );
  assert.deepEqual(
    missingLinks([{ path: '/bin/x', needed: ['libq.so'] }], (p) => p === '/opt/libq.so', ['/opt']),
    [],
  );
});

test('resolveInRoot: links are followed inside the root, never out of it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'iglu-linkage-'));
  try {
    const root = path.join(dir, 'root');
    await mkdir(path.join(root, 'usr/lib'), { recursive: true });
    await writeFile(path.join(root, 'usr/lib/libc.so'), 'x');
    await symlink('usr/lib', path.join(root, 'lib')); // merged /usr, relative
    await symlink('/usr/lib/libc.so', path.join(root, 'usr/lib/ld-musl-x86_64.so.1')); // musl's own absolute link
    await writeFile(path.join(dir, 'host-secret'), 'y');
    await symlink(path.join(dir, 'host-secret'), path.join(root, 'usr/lib/escape.so')); // a host path: taken inside the root
    await symlink('../../../host-secret', path.join(root, 'usr/lib/dotdot.so'));
    await symlink('loop.so', path.join(root, 'usr/lib/loop.so'));
    assert.equal(await resolveInRoot(root, '/lib/ld-musl-x86_64.so.1'), path.join(root, 'usr/lib/libc.so'));
    assert.equal(await resolveInRoot(root, '/usr/lib/escape.so'), undefined);
    assert.equal(await resolveInRoot(root, '/usr/lib/dotdot.so'), undefined);
    assert.equal(await resolveInRoot(root, '/usr/lib/loop.so'), undefined);
    assert.equal(await resolveInRoot(root, '/usr/lib'), undefined, 'a directory is not a library');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('depsClosure: the listed packages, then what they need, each once; unbuilt dependencies named with who needs them', () => {
  const deps: Record<string, string[]> = {
    iglunix: ['musl', 'mksh', 'toybox'],
    mksh: ['musl'],
    toybox: ['musl'],
    musl: [],
    zstd: ['musl', 'libzstd'],
    'llvm-libcxx': ['musl'],
  };
  const depsOf = (n: string) => deps[n];
  assert.deepEqual(depsClosure(['iglunix'], depsOf), { order: ['iglunix', 'musl', 'mksh', 'toybox'], missing: [] });
  assert.deepEqual(depsClosure(['mksh', 'iglunix'], depsOf).order, ['mksh', 'iglunix', 'musl', 'toybox']);
  assert.deepEqual(depsClosure(['zstd', 'nosuch'], depsOf), {
    order: ['zstd', 'musl'],
    missing: [
      { name: 'nosuch', neededBy: [] },
      { name: 'libzstd', neededBy: ['zstd'] },
    ],
  });
});

test('manifestClosure: manifests read on demand, skipped names (base, toolchain) left out of the walk', async () => {
  const deps: Record<string, string[]> = { busybox: ['musl', 'toybox'], toybox: ['musl'], musl: ['compiler-rt'] };
  const read: string[] = [];
  const load = async (n: string) => {
    read.push(n);
    return deps[n] ? { deps: deps[n] } : undefined;
  };
  const { closure, manifests } = await manifestClosure(['busybox'], load, (n) => n === 'musl');
  assert.deepEqual(closure, { order: ['busybox', 'toybox'], missing: [] });
  assert.deepEqual([...manifests.keys()], ['busybox', 'toybox']);
  assert.deepEqual(read, ['busybox', 'toybox'], 'musl (skipped) is never read');
});

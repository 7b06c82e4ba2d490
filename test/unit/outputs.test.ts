import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outputNames, parseIglupkgMeta, spdxOf } from '../../src/packages/outputs.js';
import { packageWorkspace, treeOutputs } from '../../src/packages/workspace.js';
import { PackagePaths } from '../../src/layout/package-paths.js';
import { Workdir } from '../../src/layout/workdir.js';
import { isPathComponent } from '../../src/util/names.js';
import { isAppletPath } from '../../src/disk/applets.js';
import { imageManifest } from '../../src/disk/assemble.js';

test('a build makes the main package, then ext and subpkgs ones; a subpkgs entry with the main name is the main package', () => {
  assert.deepEqual(outputNames({ name: 'llvm', provides: ['llvm-dev', 'libcxx', 'clang', 'llvm'] }), ['llvm', 'llvm-dev', 'libcxx', 'clang']);
  assert.deepEqual(outputNames({ name: 'mksh', provides: [] }), ['mksh']);
});

test('iglupkg metadata: [pkg] keys, the license text, backup and fs lists', () => {
  const m = parseIglupkgMeta(
    '[pkg]\nname=libsplit\nver=2\ndeps=musl libsplit\nshlibs=libsplit.so.1\n[license]\nCopyright X\n\nSPDX-License-Identifier: MIT\n[backup]\netc/a.conf\n[fs]\nusr/lib/libsplit.so.1\n',
  );
  assert.deepEqual(m.pkg, { name: 'libsplit', ver: '2', deps: 'musl libsplit', shlibs: 'libsplit.so.1' });
  assert.equal(m.license, 'Copyright X\n\nSPDX-License-Identifier: MIT');
  assert.deepEqual(m.backup, ['etc/a.conf']);
  assert.deepEqual(m.fs, ['usr/lib/libsplit.so.1']);
  assert.equal(spdxOf(m.license), 'MIT');
  assert.equal(spdxOf('/* SPDX-License-Identifier: GPL-2.0-only */'), 'GPL-2.0-only');
  assert.equal(spdxOf('Permission is hereby granted'), undefined);
});

test("the workspace of a recipe: the tree is the overlay's lower layer, the recipe dir its path inside", () => {
  const ws = packageWorkspace(new PackagePaths(new Workdir('/w')), { name: 'toybox', file: '/src/iglunix/base/toybox/build.sh' });
  assert.equal(ws.tree, '/src/iglunix');
  assert.equal(ws.rel, 'base/toybox');
  assert.equal(ws.recipeIn, '/iglu/tree/base/toybox/build.sh');
  assert.equal(ws.recipeDir, '/w/build/toybox/ws/layers/upper/base/toybox');
  assert.throws(() => packageWorkspace(new PackagePaths(new Workdir('/w')), { name: '../x', file: '/t/a/b/build.sh' }), /one path component/);
});

test('copying a tree leaves out .git and the src/ and out/ of an earlier iglupkg run', () => {
  assert.ok(treeOutputs('./.git/config'));
  assert.ok(treeOutputs('./base/toybox/src'));
  assert.ok(treeOutputs('./base/toybox/out/toybox.1/usr'));
  assert.ok(!treeOutputs('./base/toybox/ls-colour.patch'));
  assert.ok(!treeOutputs('./base/src'), 'a category may be called src');
  assert.ok(!treeOutputs('./scripts/iglu.sh'));
});

test('path components: 🦆 and ordinary names are; ., .., -x, a/b, spaces, controls and empty are not', () => {
  for (const ok of ['musl', 'libc++', 'R59c', '1.2.5', '🦆', 'naïve']) assert.ok(isPathComponent(ok), ok);
  for (const bad of ['', '.', '..', '-rf', 'a/b', 'a b', 'a\nb', 'a\u0000b', '.hidden', 'a\u2028b', 'x'.repeat(129)])
    assert.ok(!isPathComponent(bad), JSON.stringify(bad));
});

test('busybox applet paths: usr/bin/[ and [[ are applets; links out of the stage are not', () => {
  for (const ok of ['bin/sh', 'usr/bin/[', 'usr/bin/[[', 'sbin/mdev', 'usr/sbin/ubirename', 'linuxrc']) assert.ok(isAppletPath(ok), ok);
  for (const bad of ['../etc/passwd', '/etc/passwd', 'usr/bin/../../x', 'a/b/c/d', 'usr/bin/[x', 'usr/bin/.hidden', '']) assert.ok(!isAppletPath(bad), bad);
});

test('an image manifest lists the kernel, then the root packages, with recipes, sources and licences', () => {
  const m = (name: string, license?: { sha256: string; spdx?: string }) => ({
    name,
    version: '1',
    release: '0',
    recipe: { file: `/t/base/${name}/build.sh`, sha256: `r-${name}` },
    sources: [{ url: `https://example.invalid/${name}.tar.gz`, sha256: `s-${name}`, size: 3 }],
    tarball: { file: `${name}.1.tar.zst`, sha256: `t-${name}`, size: 1 },
    files: [],
    installedSize: 0,
    build: { at: '2026-01-01T00:00:00Z', seconds: 1, where: 'chroot' as const },
    ...(license ? { license } : {}),
  });
  const out = imageManifest({ file: 'iglunix.img', sha256: 'i', sizeMiB: 64 }, m('linux', { sha256: 'l', spdx: 'GPL-2.0-only' }), [m('musl'), m('mksh')]);
  assert.deepEqual(
    out.packages.map((p) => `${p.role}:${p.name}`),
    ['kernel:linux', 'root:musl', 'root:mksh'],
  );
  assert.deepEqual(out.packages[0]!.license, { sha256: 'l', spdx: 'GPL-2.0-only' });
  assert.deepEqual(out.packages[1]!.sources, [{ url: 'https://example.invalid/musl.tar.gz', sha256: 's-musl' }]);
  assert.equal(out.packages[2]!.recipe.sha256, 'r-mksh');
  assert.equal(out.image.sizeMiB, 64);
});

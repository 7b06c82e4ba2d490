import assert from 'node:assert/strict';
import {
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { installTarball } from '../../src/chroot/install.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { assembleImage } from '../../src/disk/assemble.js';
import { outputDir } from '../../src/packages/outputs.js';
import { PackagePaths } from '../../src/layout/package-paths.js';
import { makeWorkspace, packageWorkspace } from '../../src/packages/workspace.js';
import { SANDBOX_ID } from '../../src/sandbox/argv.js';
import { untarAsSandbox } from '../../src/sandbox/untar.js';
import { Workdir } from '../../src/layout/workdir.js';
import { canary } from '../support/hostile.js';
import { packPkgdir } from '../../src/packages/pack.js';
import { packSynthetic } from '../support/packages.js';

// What a package brings onto the host (issue: "a package's setuid file is a root shell for
// every user of the host", "a recipe packs any host directory it can name"): setuid bits,
// device nodes and links out of the workspace, with real tar, zstd and the image tools.
const root = process.getuid?.() === 0;
const SETUID = 0o4000;

/** A pkgdir with two programs (specialModes makes them setuid and setgid). */
function hostilePkgdir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-setuid-'));
  mkdirSync(path.join(dir, 'usr/bin'), { recursive: true });
  writeFileSync(path.join(dir, 'usr/bin/rootsh'), '#!/bin/sh\nexec /bin/sh\n', { mode: 0o755 });
  writeFileSync(path.join(dir, 'usr/bin/groupsh'), '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}

/** Makes hostilePkgdir's programs setuid and setgid (chmod: writeFile's mode goes through the umask) and adds a 0666 block device. */
async function specialModes(dir: string, withDevice: boolean): Promise<void> {
  await execa('chmod', ['4755', path.join(dir, 'usr/bin/rootsh')]);
  await execa('chmod', ['2755', path.join(dir, 'usr/bin/groupsh')]);
  if (withDevice) await execa('mknod', ['-m', '0666', path.join(dir, 'usr/bin/disk'), 'b', '254', '0']);
}

test(
  "a package's setuid-root file and device node never reach a sysroot on the host; the image keeps the setuid bit",
  { skip: !root && 'needs root (0:0 owners, mknod)' },
  async () => {
    const pkgdir = hostilePkgdir();
    await specialModes(pkgdir, true);
    const tarball = path.join(mkdtempSync(path.join(tmpdir(), 'iglu-setuid-out-')), 'evil.1.tar.zst');
    const packed = await packPkgdir(pkgdir, tarball, 946684800);
    assert.ok(
      packed.files.some((f) => f.path === 'usr/bin/rootsh' && (f.mode & SETUID) !== 0),
      'the package itself keeps the bit',
    );
    const sysroot = mkdtempSync(path.join(tmpdir(), 'iglu-sysroot-'));
    const left = await installTarball(tarball, sysroot);
    assert.deepEqual(left, ['./usr/bin/disk']);
    const rootsh = statSync(path.join(sysroot, 'usr/bin/rootsh'));
    assert.equal(rootsh.uid, 0);
    assert.equal(rootsh.mode & 0o7777, 0o755, 'no setuid bit on the host');
    assert.equal(statSync(path.join(sysroot, 'usr/bin/groupsh')).mode & 0o7777, 0o755, 'no setgid bit on the host');
    assert.ok(!readdirSync(path.join(sysroot, 'usr/bin')).includes('disk'), 'no device node on the host');
    // the one tree that keeps the bits is the image's stage (0700, removed after)
    const kept = mkdtempSync(path.join(tmpdir(), 'iglu-stage-'));
    await installTarball(tarball, kept, { keepSpecialModes: true });
    assert.equal(statSync(path.join(kept, 'usr/bin/rootsh')).mode & 0o7777, 0o4755);
  },
);

test("iglunix.img keeps a package's setuid bit; a device node in a package is refused by name", { skip: !root && 'needs root' }, async () => {
  const wd = new Workdir(mkdtempSync(path.join(tmpdir(), 'iglu-setuid-img-')));
  await wd.dir('out');
  const pkg = async (name: string, files: Record<string, string>, special?: (dir: string) => Promise<void>) => {
    const dir = mkdtempSync(path.join(tmpdir(), `iglu-hpkg-${name}-`));
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      writeFileSync(path.join(dir, p), text, { mode: 0o755 });
    }
    await special?.(dir);
    await packSynthetic(wd, name, dir);
  };
  await pkg('linux', { 'boot/vmlinuz': 'MZ not really a kernel\n' });
  await pkg('musl', { 'lib/ld-musl-x86_64.so.1': 'musl\n' });
  await pkg('doas', { 'usr/bin/doas': '#!/bin/sh\n' }, (d) => execa('chmod', ['4755', path.join(d, 'usr/bin/doas')]).then(() => undefined));
  const config = ConfigSchema.parse({ disk: { packages: ['musl', 'doas'] } });
  const img = await assembleImage({ workdir: wd, config, expect: 'IGLUNIX BOOT OK' }, () => undefined);
  const stat = await execa('debugfs', ['-R', 'stat /usr/bin/doas', `${img.file}?offset=${img.layout.root.start * 512}`]);
  assert.match(stat.stdout, /Mode:\s+04755/);
  assert.match(stat.stdout, /User:\s+0\s+Group:\s+0/);
  assert.equal(statSync(path.join(wd.root, 'disk')).mode & 0o777, 0o700, "the stage's parent is root's alone");

  await pkg('devs', { 'usr/share/devs/readme': 'x\n' }, (d) =>
    execa('mknod', ['-m', '0666', path.join(d, 'usr/share/devs/disk'), 'b', '254', '0']).then(() => undefined),
  );
  const withDevice = ConfigSchema.parse({ disk: { packages: ['musl', 'devs'] } });
  await assert.rejects(
    assembleImage({ workdir: wd, config: withDevice, expect: 'IGLUNIX BOOT OK' }, () => undefined),
    /devs: its package holds device nodes or FIFOs \(\.\/usr\/share\/devs\/disk\)/,
  );
});

test(
  "what a recipe left in a container comes back as the sandbox's uid would have made it: no root owner, no device node",
  { skip: !root && 'needs root' },
  async () => {
    const pkgdir = hostilePkgdir();
    await specialModes(pkgdir, false);
    const archive = path.join(mkdtempSync(path.join(tmpdir(), 'iglu-untar-')), 'out.tar');
    await execa('tar', ['-C', pkgdir, '--owner=0', '--group=0', '--numeric-owner', '-cf', archive, '.']);
    // below a 0700 parent, as the work trees are
    const parent = mkdtempSync(path.join(tmpdir(), 'iglu-untar-to-'));
    const to = path.join(parent, 'ws', 'out');
    await untarAsSandbox(createReadStream(archive), to, { what: 'the test archive' });
    const rootsh = statSync(path.join(to, 'usr/bin/rootsh'));
    assert.equal(rootsh.uid, SANDBOX_ID, 'owned by the sandbox uid, never root');
    assert.equal(rootsh.mode & 0o7777, 0o4755, 'modes as the recipe made them (setuid of the sandbox uid only)');

    await execa('mknod', ['-m', '0666', path.join(pkgdir, 'usr/bin/disk'), 'b', '254', '0']);
    await execa('tar', ['-C', pkgdir, '--owner=0', '--group=0', '--numeric-owner', '-cf', archive, '.']);
    const again = path.join(parent, 'ws', 'out2');
    await assert.rejects(
      untarAsSandbox(createReadStream(archive), again, { what: 'the test archive' }),
      /the test archive holds a device node or FIFO: \.\/usr\/bin\/disk: Cannot mknod/,
    );
    assert.ok(!lstatSync(path.join(again, 'usr/bin')).isSymbolicLink());
    assert.ok(!readdirSync(path.join(again, 'usr/bin')).includes('disk'));
  },
);

test('a pkgdir reached through a link — out/ itself replaced by a link to a host directory — is refused', async () => {
  const c = canary('outlink');
  mkdirSync(path.join(c.dir, 'secret.d'));
  writeFileSync(path.join(c.dir, 'secret.d', 'key'), 'KEY\n', { mode: 0o600 });
  const ws = mkdtempSync(path.join(tmpdir(), 'iglu-ws-'));
  const recipeDir = path.join(ws, 'layers/upper/base/secret');
  mkdirSync(recipeDir, { recursive: true });
  symlinkSync(c.dir, path.join(recipeDir, 'out'));
  await assert.rejects(
    outputDir(ws, path.join(recipeDir, 'out', 'secret.d')),
    /the package directory out\/secret\.d is missing or is reached through a symbolic link: .*out in .* is a symbolic link/,
  );
  unlinkSync(path.join(recipeDir, 'out'));
  mkdirSync(path.join(recipeDir, 'out', 'secret.d'), { recursive: true });
  assert.equal(await outputDir(ws, path.join(recipeDir, 'out', 'secret.d')), path.join(recipeDir, 'out', 'secret.d'));
});

test('a package installed again over itself, links to links among its files (libc++.so -> libc++.so.1 -> libc++.so.1.0), installs whole', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-relink-'));
  mkdirSync(path.join(dir, 'usr/lib'), { recursive: true });
  writeFileSync(path.join(dir, 'usr/lib/libc++.so.1.0'), 'x'.repeat(100_000));
  symlinkSync('libc++.so.1.0', path.join(dir, 'usr/lib/libc++.so.1'));
  symlinkSync('libc++.so.1', path.join(dir, 'usr/lib/libc++.so'));
  symlinkSync('/bin/busybox', path.join(dir, 'usr/lib/sh'));
  const tarball = path.join(mkdtempSync(path.join(tmpdir(), 'iglu-relink-out-')), 'libcxx.1.tar.zst');
  await packPkgdir(dir, tarball, 946684800);
  const sysroot = mkdtempSync(path.join(tmpdir(), 'iglu-relink-root-'));
  for (let i = 0; i < 2; i++) await installTarball(tarball, sysroot);
  assert.equal(readFileSync(path.join(sysroot, 'usr/lib/libc++.so'), 'utf8').length, 100_000, 'read through both links: the file is whole');
  assert.equal(readlinkSync(path.join(sysroot, 'usr/lib/libc++.so')), 'libc++.so.1');
  assert.equal(readlinkSync(path.join(sysroot, 'usr/lib/sh')), '/bin/busybox', 'an absolute target is kept as it is');
});

test('a relative link that leads out of its package is refused by name, not called a damaged tarball', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-outlink-'));
  mkdirSync(path.join(dir, 'usr'), { recursive: true });
  symlinkSync('../../../../etc', path.join(dir, 'usr/lib'));
  const tarball = path.join(mkdtempSync(path.join(tmpdir(), 'iglu-outlink-out-')), 'out.1.tar.zst');
  await packPkgdir(dir, tarball, 946684800);
  await assert.rejects(installTarball(tarball, mkdtempSync(path.join(tmpdir(), 'iglu-outlink-root-'))), (err: Error & { hint?: string }) => {
    assert.match(err.message, /usr\/lib -> \.\.\/\.\.\/\.\.\/\.\.\/etc: linkpath escapes extraction directory/);
    assert.match(err.hint ?? '', /a link that leads out of it/);
    assert.doesNotMatch(err.hint ?? '', /damaged/);
    return true;
  });
});

test(
  'a workspace on a full disk: a clear error that says so, and nothing of it left to keep the disk full',
  { skip: !root && 'needs root (mount)' },
  async () => {
    const mnt = mkdtempSync(path.join(tmpdir(), 'iglu-full-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k,nr_inodes=64', 'iglu-full', mnt]);
    try {
      const wd = new Workdir(mnt);
      const paths = new PackagePaths(wd);
      const ws = packageWorkspace(paths, { name: 'big', file: path.join(mnt, 'tree/base/big/build.sh') });
      // fill the disk: inodes and blocks
      await execa('sh', ['-c', `i=0; while touch "${mnt}/fill$i" 2>/dev/null; do i=$((i+1)); done; dd if=/dev/zero of="${mnt}/blob" bs=4k 2>/dev/null; true`]);
      await assert.rejects(makeWorkspace(ws), (err: Error & { hint?: string }) => {
        assert.match(err.message, /^cannot make the workspace .*build\/big\/ws: /);
        assert.match(err.hint ?? '', /disk full/);
        return true;
      });
      assert.ok(!existsSync(ws.dir), 'nothing of the workspace is kept');
    } finally {
      await execa('umount', [mnt]);
    }
  },
);

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { ConfigSchema } from '../../src/config/schema.js';
import { assembleImage, type ImageManifest } from '../../src/disk/assemble.js';
import { DISK_IDS, PART_TYPES, SECTOR, diskLayout } from '../../src/disk/layout.js';
import { Workdir } from '../../src/layout/workdir.js';
import type { PackageManifest } from '../../src/packages/manifest.js';
import { packPkgdir, writeManifest } from '../../src/packages/pack.js';
import { packSynthetic } from '../support/packages.js';

// The image layout on real tools (mke2fs, debugfs, mkfs.fat, mtools, sfdisk), with
// small synthetic packages standing in for the built ones: the partition table is read
// back with sfdisk, the root filesystem checked with e2fsck -fn, owners with debugfs.

/** Packs `files` (path → content) as package `name` into the work directory's out/. */
async function fakePackage(wd: Workdir, name: string, files: Record<string, string | Buffer>, uid: number, deps: string[] = []): Promise<void> {
  const pkgdir = mkdtempSync(path.join(tmpdir(), `iglu-pkg-${name}-`));
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(pkgdir, p)), { recursive: true });
    writeFileSync(path.join(pkgdir, p), content, { mode: 0o755 });
  }
  await execa('chown', ['-R', `${uid}:${uid}`, pkgdir]);
  await packSynthetic(wd, name, pkgdir, { deps });
}

async function workdirWithPackages(): Promise<Workdir> {
  const wd = new Workdir(mkdtempSync(path.join(tmpdir(), 'iglu-disk-')));
  await wd.dir('out');
  await fakePackage(wd, 'linux', { 'boot/vmlinuz': 'MZ not really a kernel\n' }, 0);
  await fakePackage(wd, 'musl', { 'lib/ld-musl-x86_64.so.1': 'musl\n' }, 0);
  await fakePackage(wd, 'busybox', { 'bin/busybox': '#!/bin/sh\n' }, 0);
  await fakePackage(wd, 'mksh', { 'bin/mksh': '#!/bin/sh\n' }, 0);
  return wd;
}

const config = ConfigSchema.parse({ disk: { packages: ['musl', 'busybox', 'mksh'] } });

test('iglunix.img: GPT with the fixed ESP and root partitions, a clean ext4 owned by root, the kernel on the ESP', async () => {
  const wd = await workdirWithPackages();
  const img = await assembleImage({ workdir: wd, config, expect: 'IGLUNIX BOOT OK' }, () => undefined);
  const layout = diskLayout(64);
  const table = JSON.parse((await execa('sfdisk', ['--json', img.file])).stdout) as {
    partitiontable: { label: string; id: string; partitions: { start: number; size: number; type: string; uuid: string; name: string }[] };
  };
  assert.equal(table.partitiontable.label, 'gpt');
  assert.equal(table.partitiontable.id, DISK_IDS.labelId);
  assert.deepEqual(
    table.partitiontable.partitions.map((p) => [p.start, p.size, p.type, p.uuid, p.name]),
    [
      [layout.esp.start, layout.esp.sectors, PART_TYPES.esp, DISK_IDS.espPartUuid, 'ESP'],
      [layout.root.start, layout.root.sectors, PART_TYPES.rootX86_64, DISK_IDS.rootPartUuid, 'iglunix-root'],
    ],
  );
  // the root partition, cut out and checked
  const root = path.join(wd.root, 'root.ext4');
  await execa('dd', [`if=${img.file}`, `of=${root}`, `bs=${SECTOR}`, `skip=${layout.root.start}`, `count=${layout.root.sectors}`, 'status=none']);
  const fsck = await execa('e2fsck', ['-fn', root], { reject: false });
  assert.equal(fsck.exitCode, 0, String(fsck.stdout));
  assert.match((await execa('dumpe2fs', ['-h', root])).stdout, new RegExp(`Filesystem UUID:\\s+${DISK_IDS.rootFsUuid}`));
  const init = (await execa('debugfs', ['-R', 'cat /sbin/init', root])).stdout;
  assert.match(init, /print -r -- "IGLUNIX BOOT OK: kernel=/);
  const stat = (await execa('debugfs', ['-R', 'stat /bin/busybox', root])).stdout;
  assert.match(stat, /User:\s+0\s+Group:\s+0/);
  assert.match(stat, /ctime: 0x386d4380/, 'ctime is SOURCE_DATE_EPOCH (946684800)');
  // the kernel on the ESP
  const esp = `${img.file}@@${layout.esp.start * SECTOR}`;
  assert.equal((await execa('mtype', ['-i', esp, '::/EFI/BOOT/BOOTX64.EFI'])).stdout, 'MZ not really a kernel');
});

test("files owned by another user in a package are root's in the image", async () => {
  const wd = await workdirWithPackages();
  await fakePackage(wd, 'busybox', { 'bin/busybox': '#!/bin/sh\n' }, 1234);
  const img = await assembleImage({ workdir: wd, config, expect: 'X' }, () => undefined);
  const layout = diskLayout(64);
  const root = path.join(wd.root, 'root.ext4');
  await execa('dd', [`if=${img.file}`, `of=${root}`, `bs=${SECTOR}`, `skip=${layout.root.start}`, `count=${layout.root.sectors}`, 'status=none']);
  assert.match((await execa('debugfs', ['-R', 'stat /bin/busybox', root])).stdout, /User:\s+0\s+Group:\s+0/);
});

test('a package whose /sbin/init is a link to an absolute path: the link is replaced, the host file is untouched', async () => {
  const wd = await workdirWithPackages();
  const victim = path.join(mkdtempSync(path.join(tmpdir(), 'iglu-victim-')), 'file');
  writeFileSync(victim, 'host file\n');
  const pkgdir = mkdtempSync(path.join(tmpdir(), 'iglu-pkg-init-'));
  mkdirSync(path.join(pkgdir, 'sbin'));
  symlinkSync(victim, path.join(pkgdir, 'sbin/init'));
  const packed = await packPkgdir(pkgdir, path.join(wd.root, 'out/mksh.1.tar.zst'), 946684800);
  const m = JSON.parse(readFileSync(path.join(wd.root, 'out/mksh.1.json'), 'utf8')) as PackageManifest;
  await writeManifest(path.join(wd.root, 'out/mksh.1.json'), { ...m, tarball: { ...m.tarball, sha256: packed.sha256, size: packed.size } });
  await assembleImage({ workdir: wd, config, expect: 'X' }, () => undefined);
  assert.equal(readFileSync(victim, 'utf8'), 'host file\n');
});

test("a package's /sbin/init as a regular file is the image's init; iglu writes its own only without one", async () => {
  const wd = await workdirWithPackages();
  await fakePackage(wd, 'mksh', { 'bin/mksh': '#!/bin/sh\n', 'sbin/init': '#!/bin/mksh\necho the package init\n' }, 0);
  const img = await assembleImage({ workdir: wd, config, expect: 'X' }, () => undefined);
  const root = path.join(wd.root, 'root.ext4');
  const layout = diskLayout(img.sizeMiB);
  await execa('dd', [`if=${img.file}`, `of=${root}`, `bs=${SECTOR}`, `skip=${layout.root.start}`, `count=${layout.root.sectors}`, 'status=none']);
  assert.equal((await execa('debugfs', ['-R', 'cat /sbin/init', root])).stdout, '#!/bin/mksh\necho the package init');
});

test('a program whose loader or DT_NEEDED library no package provides: the image is refused, the program and library named, no image left', async () => {
  const wd = await workdirWithPackages();
  // a real dynamic program (the host's ls: glibc's loader and libraries, none in the image)
  await fakePackage(wd, 'mksh', { 'bin/mksh': readFileSync('/bin/ls') }, 0);
  const out = path.join(wd.root, 'refused.img');
  await assert.rejects(
    assembleImage({ workdir: wd, config, out, expect: 'X' }, () => undefined),
    (err: Error) => {
      assert.match(err.message, /the image would not run its programs/);
      assert.match(err.message, /\/bin\/mksh needs the loader \/lib64\/ld-linux-x86-64\.so\.2, which no package in the image provides/);
      assert.match(err.message, /\/bin\/mksh needs the library libc\.so\.6/);
      return true;
    },
  );
  assert.equal(existsSync(out), false);
});

test('two builds of the same packages give the same image', async () => {
  const wd = await workdirWithPackages();
  const a = await assembleImage({ workdir: wd, config, out: path.join(wd.root, 'a.img'), expect: 'X' }, () => undefined);
  const b = await assembleImage({ workdir: wd, config, out: path.join(wd.root, 'b.img'), expect: 'X' }, () => undefined);
  assert.equal(a.sha256, b.sha256);
  // beside each image, its manifest: the kernel and every root package with its recipe and sources
  const manifest = JSON.parse(readFileSync(path.join(wd.root, 'a.img.manifest.json'), 'utf8')) as ImageManifest;
  assert.deepEqual(manifest.image, { file: 'a.img', sha256: a.sha256, sizeMiB: a.sizeMiB });
  assert.deepEqual(
    manifest.packages.map((p) => `${p.role}:${p.name}`),
    [`kernel:${a.kernel.name}`, ...a.packages.map((p) => `root:${p.name}`)],
  );
  assert.deepEqual(
    manifest.packages.map((p) => p.tarballSha256),
    [a.kernel.tarballSha256, ...a.packages.map((p) => p.tarballSha256)],
  );
});

test('a package that has not been built, or a size too small: clear errors, no image left', async () => {
  const wd = new Workdir(mkdtempSync(path.join(tmpdir(), 'iglu-disk-')));
  await assert.rejects(
    assembleImage({ workdir: wd, config, expect: 'X' }, () => undefined),
    /linux has not been built: no out\/linux\.\*\.json/,
  );
  await assert.rejects(
    assembleImage({ workdir: await workdirWithPackages(), config, sizeMiB: 40, expect: 'X' }, () => undefined),
    /too small/,
  );
});

test('the packages the listed ones need come along; a needed package that has not been built is named', async () => {
  const wd = await workdirWithPackages();
  await fakePackage(wd, 'mksh', { 'bin/mksh': '#!/bin/sh\n' }, 0, ['musl', 'libedit']);
  await fakePackage(wd, 'libedit', { 'usr/lib/libedit.so.0': 'lib\n' }, 0, ['musl']);
  const only = ConfigSchema.parse({ disk: { packages: ['mksh'] } });
  const img = await assembleImage({ workdir: wd, config: only, expect: 'X' }, () => undefined);
  assert.deepEqual(
    img.packages.map((p) => p.name),
    ['mksh', 'musl', 'libedit'],
  );
  await fakePackage(wd, 'mksh', { 'bin/mksh': '#!/bin/sh\n' }, 0, ['musl', 'ncurses']);
  await assert.rejects(
    assembleImage({ workdir: wd, config: only, expect: 'X' }, () => undefined),
    /need packages that have not been built: ncurses \(needed by mksh\)/,
  );
});

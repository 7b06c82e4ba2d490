import { chmod, lstat, mkdir, readdir, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { installTarball } from '../chroot/install.js';
import type { Config } from '../config/schema.js';
import { IgluError } from '../errors.js';
import { newestManifest } from '../packages/manifest.js';
import { PackagePaths } from '../packages/paths.js';
import { SOURCE_DATE_EPOCH } from '../toolchain/build.js';
import { exists } from '../util/exists.js';
import { hashFile } from '../util/hash.js';
import type { Workdir } from '../workdir.js';
import { initScript } from './init.js';
import { DISK_IDS, diskLayout, SECTOR, sfdiskScript, type DiskLayout } from './layout.js';

/** A package that went into the image. */
export interface ImagePackage {
  name: string;
  version: string;
  tarballSha256: string;
}

/** The result of `iglu image` (--json). */
export interface ImageResult {
  file: string;
  sha256: string;
  sizeMiB: number;
  kernel: ImagePackage;
  packages: ImagePackage[];
  layout: DiskLayout;
  seconds: number;
}

/** Inputs of `iglu image`. */
export interface ImageOptions {
  workdir: Workdir;
  config: Config;
  /** Output path (default: <workdir>/iglunix.img). */
  out?: string;
  sizeMiB?: number;
  /** The line init prints (boot.expect). */
  expect: string;
}

/**
 * Assembles iglunix.img from built packages without loop mounts or root-only tools:
 * stages a root directory (disk.packages unpacked, plus /sbin/init), makes an ext4 image
 * of it with mke2fs -d (fixed UUID and hash seed, E2FSPROGS_FAKE_TIME), sets every
 * inode's owner to 0:0 and its times to SOURCE_DATE_EPOCH with debugfs -w (so ownership
 * does not depend on who runs iglu), checks it with e2fsck -fn; makes a FAT ESP with
 * mkfs.fat --invariant and mtools holding the kernel as \\EFI\\BOOT\\BOOTX64.EFI; writes a
 * GPT with sfdisk on the image file and splices both filesystems in with dd conv=notrunc.
 * Everything happens in a scratch directory; the image is renamed into place at the end.
 * @throws IgluError naming a package that has not been built, or the tool that failed
 */
export async function assembleImage(o: ImageOptions, output: (line: string) => void): Promise<ImageResult> {
  const started = Date.now();
  const sizeMiB = o.sizeMiB ?? o.config.disk.sizeMiB;
  const layout = diskLayout(sizeMiB);
  const out = path.resolve(o.out ?? path.join(o.workdir.root, 'iglunix.img'));
  const pkgPaths = new PackagePaths(o.workdir);
  const find = async (name: string) => {
    const m = await newestManifest(pkgPaths.outDir, name);
    if (!m) throw new IgluError(`${name} has not been built: no out/${name}.*.json`, { hint: name === o.config.disk.kernel ? `build it with iglu chroot build ${name}` : 'build it with iglu toolchain build / iglu chroot build' });
    return { m, tarball: path.join(pkgPaths.outDir, m.tarball.file), info: { name, version: m.version, tarballSha256: m.tarball.sha256 } };
  };
  const kernel = await find(o.config.disk.kernel);
  const packages = await Promise.all(o.config.disk.packages.map(find));
  const scratch = path.join(o.workdir.root, 'disk', `build.${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  const tmpImage = `${out}.${process.pid}.tmp`;
  try {
    const stage = path.join(scratch, 'root');
    output(`stage the root: ${packages.map((p) => p.info.name).join(', ')}`);
    for (const p of packages) await installTarball(p.tarball, stage);
    for (const d of ['dev', 'proc', 'sys', 'tmp', 'root', 'etc', 'sbin', 'run']) await mkdir(path.join(stage, d), { recursive: true });
    await chmod(path.join(stage, 'tmp'), 0o1777);
    // never through a link a package may have put there: links in the stage point into the guest
    await rm(path.join(stage, 'sbin/init'), { force: true });
    await writeFile(path.join(stage, 'sbin/init'), initScript(o.expect), { mode: 0o755, flag: 'wx' });
    await utimes(path.join(stage, 'sbin/init'), SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH);
    const applets = await linkBusyboxApplets(stage);
    if (applets) output(`${applets} busybox applet links`);
    const kdir = path.join(scratch, 'kernel');
    await installTarball(kernel.tarball, kdir);
    const vmlinuz = path.join(kdir, 'boot/vmlinuz');

    output('ext4 root filesystem (mke2fs -d, then debugfs: owners 0:0, fixed times)');
    const rootfs = path.join(scratch, 'root.ext4');
    const env = { E2FSPROGS_FAKE_TIME: String(SOURCE_DATE_EPOCH), SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH) };
    await tool('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-L', 'iglunix', '-U', DISK_IDS.rootFsUuid, '-E', `root_owner=0:0,hash_seed=${DISK_IDS.rootHashSeed}`, '-d', stage, rootfs, `${layout.root.sectors / 2}k`], env);
    await tool('debugfs', ['-w', '-f', '-', rootfs], env, await normaliseCommands(stage));
    await tool('e2fsck', ['-fn', rootfs], env);

    output('ESP (mkfs.fat, mtools): \\EFI\\BOOT\\BOOTX64.EFI');
    const esp = path.join(scratch, 'esp.fat');
    await tool('mkfs.fat', ['-C', '-F', '16', '-n', 'ESP', '-i', DISK_IDS.espVolumeId, '--invariant', esp, String(layout.esp.sectors / 2)], env);
    await tool('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT'], env);
    await utimes(vmlinuz, SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH);
    await tool('mcopy', ['-i', esp, '-m', vmlinuz, '::/EFI/BOOT/BOOTX64.EFI'], env);

    output('GPT (sfdisk) and the partitions spliced in (dd conv=notrunc)');
    await rm(tmpImage, { force: true });
    await tool('truncate', ['-s', `${sizeMiB}M`, tmpImage], env);
    await tool('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', tmpImage], env, sfdiskScript(layout));
    for (const [file, part] of [[esp, layout.esp], [rootfs, layout.root]] as const) {
      await tool('dd', [`if=${file}`, `of=${tmpImage}`, `bs=${SECTOR}`, `seek=${part.start}`, 'conv=notrunc,sparse', 'status=none'], env);
    }
    const { sha256 } = await hashFile(tmpImage);
    await rename(tmpImage, out);
    return { file: out, sha256, sizeMiB, kernel: kernel.info, packages: packages.map((p) => p.info), layout, seconds: Math.round((Date.now() - started) / 100) / 10 };
  } finally {
    await rm(tmpImage, { force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Links busybox's applets (`busybox --list-full`: "bin/ls", "usr/bin/awk", …) to
 * /bin/busybox where no other package put a file, as `busybox --install -s` would inside
 * the guest. The static busybox runs on the host to list them.
 * @returns how many links were made (0 without busybox in the root)
 */
async function linkBusyboxApplets(stage: string): Promise<number> {
  const busybox = path.join(stage, 'bin/busybox');
  if (!(await exists(busybox))) return 0;
  const list = await execa(busybox, ['--list-full'], { reject: false, stdin: 'ignore' });
  if (list.failed) return 0;
  let made = 0;
  for (const rel of String(list.stdout).split('\n').map((l) => l.trim()).filter(Boolean).sort()) {
    const at = path.join(stage, rel);
    if (await lexists(at)) continue;
    await mkdir(path.dirname(at), { recursive: true });
    await symlink('/bin/busybox', at);
    made++;
  }
  return made;
}

async function lexists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

/** debugfs commands: every inode of the staged tree owned by 0:0, with all four times at SOURCE_DATE_EPOCH. */
async function normaliseCommands(stage: string): Promise<string> {
  const paths = ['/', ...(await readdir(stage, { recursive: true })).map((p) => `/${p}`)].sort();
  const t = `@${SOURCE_DATE_EPOCH}`;
  return paths.map((p) => {
    const q = `"${p.replace(/"/g, '\\"')}"`;
    return [`sif ${q} uid 0`, `sif ${q} gid 0`, `sif ${q} atime ${t}`, `sif ${q} mtime ${t}`, `sif ${q} ctime ${t}`, `sif ${q} crtime ${t}`].join('\n');
  }).join('\n') + '\n';
}

async function tool(cmd: string, args: string[], env: Record<string, string>, input?: string): Promise<void> {
  const res = await execa(cmd, args, { env, reject: false, ...(input !== undefined ? { input } : { stdin: 'ignore' }) });
  if (res.exitCode === undefined) throw new IgluError(`${cmd} is not installed`, { hint: 'apt-get install e2fsprogs dosfstools mtools fdisk (scripts/setup.sh does)' });
  if (res.failed) throw new IgluError(`${cmd} failed while assembling the image: ${(String(res.stderr) || res.shortMessage || `exit ${res.exitCode}`).split('\n').slice(-3).join(' ')}`, { hint: 'see the message; the partial image was removed' });
}

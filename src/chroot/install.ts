import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { exists } from '../util/exists.js';

/**
 * Unpacks a package tarball (.tar.zst) into `dir` — the build root's sysroot — keeping
 * modes and numeric owners: zstd -dc piped into GNU tar -x. Files the package shares with
 * what is there are replaced; nothing is removed.
 * @throws IgluError naming the tarball when zstd or tar fails
 */
export async function installTarball(tarball: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const res = await execa('zstd', ['-dc', tarball], { reject: false }).pipe('tar', ['-x', '-p', '--numeric-owner', '-C', dir], { reject: false });
  if (res.failed) throw new IgluError(`cannot install ${tarball} into ${dir}: ${res.stderr || res.shortMessage}`, { hint: 'rebuild the package (--rebuild) if its tarball is damaged' });
}

/** The kernel UAPI header directories of /usr/include (linux-libc-dev on Debian, `make headers` of Linux). */
const UAPI_DIRS = ['linux', 'asm-generic', 'mtd', 'rdma', 'scsi', 'sound', 'video', 'xen', 'misc', 'drm'];

/**
 * Copies the base's Linux UAPI headers into the sysroot's usr/include (what `linux` in
 * chroot.base stands for: programs such as busybox include <linux/*.h>). asm/ comes
 * from usr/include/asm or, on a multiarch base such as Debian, usr/include/<triple>/asm.
 * @returns the directories copied (empty when the base has none)
 */
export async function copyKernelHeaders(root: string, sysroot: string, multiarch = 'x86_64-linux-gnu'): Promise<string[]> {
  const from = path.join(root, 'usr/include');
  const to = path.join(sysroot, 'usr/include');
  const copied: string[] = [];
  await mkdir(to, { recursive: true });
  for (const d of UAPI_DIRS) {
    if (await exists(path.join(from, d))) {
      await cp(path.join(from, d), path.join(to, d), { recursive: true, verbatimSymlinks: true });
      copied.push(d);
    }
  }
  for (const asm of [path.join(from, 'asm'), path.join(from, multiarch, 'asm')]) {
    if (await exists(asm)) {
      await cp(asm, path.join(to, 'asm'), { recursive: true, verbatimSymlinks: true });
      copied.push('asm');
      break;
    }
  }
  return copied;
}

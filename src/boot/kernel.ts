import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { SECTOR, diskLayout } from '../disk/layout.js';

/**
 * Copies the kernel out of an image's ESP (\\EFI\\BOOT\\BOOTX64.EFI) with mtools, which
 * reads a filesystem at an offset of an image file (`-i FILE@@OFFSET`, mtools(1)) — for
 * the direct kernel boot and the KVM probe, so both boot exactly what the image holds.
 * @returns the path of the copy in `dir`
 * @throws IgluError when the image has no such file
 */
export async function kernelFromImage(image: string, sizeMiB: number, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const to = path.join(dir, 'BOOTX64.EFI');
  const offset = diskLayout(sizeMiB).esp.start * SECTOR;
  // -n: no question when the Unix file exists (mtools asks on /dev/tty, which hangs under a terminal)
  await rm(to, { force: true });
  const res = await execa('mcopy', ['-n', '-o', '-i', `${image}@@${offset}`, '::/EFI/BOOT/BOOTX64.EFI', to], { reject: false, stdin: 'ignore' });
  if (res.failed) throw new IgluError(`${image} has no \\EFI\\BOOT\\BOOTX64.EFI in its ESP: ${String(res.stderr).trim() || res.shortMessage}`, { hint: 'make the image with iglu image' });
  return to;
}

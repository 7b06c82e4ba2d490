import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { SECTOR, diskLayout } from '../disk/layout.js';

/** The smallest image `iglu image` makes, MiB (disk/layout.ts: 32 MiB ESP, 8 MiB root, the GPT). */
const MIN_IMAGE_MiB = 42;

/**
 * Why a file is not an image `iglu image` made, from its size in bytes and its first
 * 520 bytes: smaller than the smallest image, not a whole number of MiB, or no GPT
 * header ("EFI PART" at byte 512, LBA 1: UEFI spec 2.10, 5.3.2). Pure.
 * @returns the reason, or undefined when it looks like one
 */
export function whyNotAnImage(size: number, head: Buffer): string | undefined {
  if (size < MIN_IMAGE_MiB * 1024 * 1024) return `it is ${size} bytes, smaller than the smallest iglunix.img (${MIN_IMAGE_MiB} MiB)`;
  if (size % (1024 * 1024) !== 0) return `its size, ${size} bytes, is not a whole number of MiB`;
  if (head.subarray(512, 520).toString('latin1') !== 'EFI PART') return 'it has no GPT header ("EFI PART" at byte 512)';
  return undefined;
}

/**
 * Checks that `image` is an image `iglu image` made (whyNotAnImage) before anything reads
 * partitions from it.
 * @returns its size in MiB
 * @throws IgluError saying the file is not an iglunix.img and why
 */
export async function checkImageFile(image: string): Promise<number> {
  const fh = await open(image, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(520);
    await fh.read(head, 0, 520, 0);
    const why = whyNotAnImage(size, head);
    if (why)
      throw new IgluError(`${image} is not an iglunix.img: ${why}`, {
        hint: 'boot an image made by iglu image (default: <workdir>/iglunix.img), or make one with iglu image',
      });
    return size / (1024 * 1024);
  } finally {
    await fh.close();
  }
}

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
  if (res.failed)
    throw new IgluError(`${image} has no \\EFI\\BOOT\\BOOTX64.EFI in its ESP: ${String(res.stderr).trim() || res.shortMessage}`, {
      hint: 'make the image with iglu image',
    });
  return to;
}

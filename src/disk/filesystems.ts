import { rm, utimes } from 'node:fs/promises';
import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { SOURCE_DATE_EPOCH } from '../layout/in-root.js';
import { interrupted } from '../util/abort.js';
import { tailLines } from '../util/tail.js';
import { inodesInUse, normaliseInodeCommands } from './inodes.js';
import { DISK_IDS, SECTOR, sfdiskScript, type DiskLayout } from './layout.js';

/**
 * The filesystems and the partition table of iglunix.img, each made by its standard tool
 * with fixed identifiers and times so the same packages give the same bytes.
 */

/** How assembleImage runs its tools: their environment, and the signal that stops them (Ctrl-C). */
export interface ToolRun {
  env: Record<string, string>;
  signal?: AbortSignal;
}

/** Runs a tool and returns its stdout. @throws IgluError with its stderr's tail, or `interrupted` */
async function toolOutput(cmd: string, args: string[], run: ToolRun): Promise<string> {
  const res = await execa(cmd, args, { env: run.env, reject: false, stdin: 'ignore', cancelSignal: run.signal });
  if (res.isCanceled) throw interrupted('iglu image');
  if (res.failed)
    throw new IgluError(`${cmd} failed while assembling the image: ${tailLines(String(res.stderr) || res.shortMessage || 'failed', 3)}`, {
      hint: 'see the message; the partial image was removed',
    });
  return String(res.stdout);
}

/** Runs a tool, `input` on its stdin. @throws IgluError when it is missing or fails, or `interrupted` */
async function tool(cmd: string, args: string[], run: ToolRun, input?: string): Promise<void> {
  const res = await execa(cmd, args, { env: run.env, reject: false, cancelSignal: run.signal, ...(input !== undefined ? { input } : { stdin: 'ignore' }) });
  if (res.isCanceled) throw interrupted('iglu image');
  if (res.exitCode === undefined)
    throw new IgluError(`${cmd} is not installed`, { hint: 'apt-get install e2fsprogs dosfstools mtools fdisk (scripts/setup.sh does)' });
  if (res.failed)
    throw new IgluError(`${cmd} failed while assembling the image: ${tailLines(String(res.stderr) || res.shortMessage || `exit ${res.exitCode}`, 3)}`, {
      hint: 'see the message; the partial image was removed',
    });
}

/**
 * The ext4 root filesystem of `stage` at `rootfs`, sized for the layout's root partition:
 * mke2fs -d with a fixed UUID and hash seed (E2FSPROGS_FAKE_TIME in `run.env`), every
 * inode's owner set to 0:0 and its times to SOURCE_DATE_EPOCH with debugfs -w (so
 * ownership does not depend on who runs iglu), then checked with e2fsck -fn.
 * @returns rootfs
 * @throws IgluError naming the tool that failed
 */
export async function makeRootFs(stage: string, rootfs: string, layout: DiskLayout, run: ToolRun): Promise<string> {
  const ids = ['-L', 'iglunix', '-U', DISK_IDS.rootFsUuid, '-E', `root_owner=0:0,hash_seed=${DISK_IDS.rootHashSeed}`];
  await tool('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', ...ids, '-d', stage, rootfs, `${layout.root.sectors / 2}k`], run);
  const inodes = inodesInUse(await toolOutput('dumpe2fs', [rootfs], run));
  await tool('debugfs', ['-w', '-f', '-', rootfs], run, normaliseInodeCommands(inodes, SOURCE_DATE_EPOCH));
  await tool('e2fsck', ['-fn', rootfs], run);
  return rootfs;
}

/**
 * The ESP at `esp`: FAT16 made with mkfs.fat --invariant and a fixed volume ID, holding
 * the kernel (its mtime set to SOURCE_DATE_EPOCH) as \\EFI\\BOOT\\BOOTX64.EFI (mtools).
 * @returns esp
 * @throws IgluError naming the tool that failed
 */
export async function makeEsp(esp: string, vmlinuz: string, layout: DiskLayout, run: ToolRun): Promise<string> {
  await tool('mkfs.fat', ['-C', '-F', '16', '-n', 'ESP', '-i', DISK_IDS.espVolumeId, '--invariant', esp, String(layout.esp.sectors / 2)], run);
  await tool('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT'], run);
  await utimes(vmlinuz, SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH);
  await tool('mcopy', ['-i', esp, '-m', vmlinuz, '::/EFI/BOOT/BOOTX64.EFI'], run);
  return esp;
}

/**
 * The disk image at `image`: `sizeMiB` MiB, a GPT written by sfdisk from the layout, and
 * the ESP and the root filesystem spliced in at their partitions' sectors (dd conv=notrunc).
 * @throws IgluError naming the tool that failed
 */
export async function writeDisk(image: string, sizeMiB: number, layout: DiskLayout, parts: { esp: string; rootfs: string }, run: ToolRun): Promise<void> {
  await rm(image, { force: true });
  await tool('truncate', ['-s', `${sizeMiB}M`, image], run);
  await tool('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', image], run, sfdiskScript(layout));
  for (const [file, part] of [
    [parts.esp, layout.esp],
    [parts.rootfs, layout.root],
  ] as const) {
    await tool('dd', [`if=${file}`, `of=${image}`, `bs=${SECTOR}`, `seek=${part.start}`, 'conv=notrunc,sparse', 'status=none'], run);
  }
}

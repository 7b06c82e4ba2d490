import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { mountPoints, mountsUnder } from './mountinfo.js';
import { IgluError } from '../errors.js';

/**
 * Lazily unmounts (umount(8) --lazy) everything mounted at or below `dir`, deepest
 * first, as /proc/self/mountinfo lists it: what an interrupted build or debootstrap left
 * (its /proc, /sys, /dev), so that removing `dir` never reaches into a mounted filesystem.
 * @returns the mount points unmounted
 * @throws IgluError naming the mount point that would not unmount, with the command to
 *   run by hand
 */
export async function unmountUnder(dir: string): Promise<string[]> {
  const done: string[] = [];
  for (const point of mountsUnder(mountPoints(await readFile('/proc/self/mountinfo', 'utf8')), dir)) {
    const res = await execa('umount', ['--lazy', point], { reject: false });
    if (res.failed)
      throw new IgluError(`cannot unmount ${point}, left under ${dir}: ${res.stderr}`, {
        hint: `unmount it by hand (umount -l ${point}) and run the command again`,
      });
    done.push(point);
  }
  return done;
}

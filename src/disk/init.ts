import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { QEMU_DIR } from '../layout/in-root.js';

/** The guest's fallback /sbin/init, a mksh script a user can read and change (qemu/guest/init). */
export const GUEST_INIT = path.join(QEMU_DIR, 'guest', 'init');

/**
 * The image's /sbin/init when no package ships one: qemu/guest/init with `@EXPECT@`
 * replaced by `expect` (escaped for the double-quoted mksh string it lands in). The script
 * mounts /proc, /sys and /tmp, prints one line proving what booted — `expect`, the kernel
 * release, the C library as musl's loader reports it, the shell's KSH_VERSION — then
 * powers off; with fw_cfg opt/iglu/interactive = 1 it gives the console a shell first.
 * @throws the read error when qemu/guest/init is missing (a broken install)
 */
export async function initScript(expect: string): Promise<string> {
  const quoted = expect.replace(/[\\"$`]/g, '\\$&');
  return (await readFile(GUEST_INIT, 'utf8')).replaceAll('@EXPECT@', () => quoted);
}

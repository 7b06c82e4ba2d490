import { chown, mkdir, rm } from 'node:fs/promises';
import { SANDBOX_ID } from './argv.js';

/**
 * Environment every sandbox gets besides a command's own: GNU tar must not try to give
 * unpacked files their archived owners (only root is mapped inside; tar(1) TAR_OPTIONS).
 */
export const SANDBOX_ENV: Record<string, string> = { TAR_OPTIONS: '--no-same-owner' };

/**
 * Makes `dir` afresh (emptied) and, when iglu runs as root, owned by SANDBOX_ID: the one
 * place a sandbox may write. Its parent stays root's.
 */
export async function sandboxOwned(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if (process.getuid?.() === 0) await chown(dir, SANDBOX_ID, SANDBOX_ID);
}

import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/** Whether a process with this PID exists (kill(2) with signal 0). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the entries of `dir` that a killed iglu left: names matching `pattern`, whose
 * first capture group is the PID of the iglu that made them, when no process has that
 * PID any more (a PID in use, even by another program, keeps its entry). A missing `dir`
 * is fine.
 * @returns the paths removed
 */
export async function sweepDeadPidEntries(dir: string, pattern: RegExp): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
    await rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(path.join(dir, name));
  }
  return removed;
}

/** Escapes a string for use inside a RegExp. Pure. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

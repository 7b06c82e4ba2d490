import { readFile } from 'node:fs/promises';

/** A process named so that a reused PID is never mistaken for it. */
export interface ProcessRef {
  pid: number;
  /** Start time in clock ticks after boot: field 22 of /proc/PID/stat (proc(5)). */
  start: number;
}

/**
 * Field 22 (starttime) of a /proc/PID/stat line. The command name (field 2) is in
 * parentheses and may hold spaces or parentheses, so fields are counted after the last
 * ")". Pure. @returns undefined for a line that is not a stat line
 */
export function statStart(stat: string): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): starttime is field 22, rest[19]
  const value = Number(rest[19]);
  return stat.includes(')') && Number.isInteger(value) ? value : undefined;
}

/** This process or `pid`, as a ProcessRef. @throws Error when it does not exist */
export async function processRef(pid = process.pid): Promise<ProcessRef> {
  const start = statStart(await readFile(`/proc/${pid}/stat`, 'utf8'));
  if (start === undefined) throw new Error(`cannot read the start time of process ${pid}`);
  return { pid, start };
}

/** Whether the process still runs — the same process, not a later one with its PID (zombies count as gone). */
export async function isRunning(ref: ProcessRef): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${ref.pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return statStart(stat) === ref.start && state !== 'Z';
  } catch {
    return false;
  }
}

import { readFileSync } from 'node:fs';

/** The label naming the process that made a Docker object: `<boot id>:<pid>:<start time>`. */
export const OWNER_LABEL = 'iglu.owner';

/**
 * The start time of a process, in clock ticks since boot, from /proc/<pid>/stat's text:
 * field 22 (proc(5)), counted after the closing parenthesis of the command name, which
 * may itself hold spaces and parentheses. Pure.
 * @returns undefined when the text is not a stat line
 */
export function startTimeOf(stat: string): string | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): field 22 is rest[19]
  return /^\d+$/.test(rest[19] ?? '') ? rest[19] : undefined;
}

function readProc(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** This machine's boot id (/proc/sys/kernel/random/boot_id: new at every boot, random(4)). */
function bootId(): string {
  return (readProc('/proc/sys/kernel/random/boot_id') ?? 'unknown').trim();
}

/** The owner value of process `pid` (this one by default): boot id, pid and start time, which together never name two processes. */
export function ownerOf(pid = process.pid): string {
  return `${bootId()}:${pid}:${startTimeOf(readProc(`/proc/${pid}/stat`) ?? '') ?? '0'}`;
}

/** The owner label of this process, to merge into an object's labels. */
export function ownerLabel(): Record<string, string> {
  return { [OWNER_LABEL]: ownerOf() };
}

/**
 * Whether the process an owner value names is gone: it was made on this machine since its
 * last boot (same boot id) and no process with its pid and start time runs now. An owner of
 * another machine (or none) is never called gone: only its own machine could tell. Pure
 * but for `startOf` (a reader of /proc/<pid>/stat's start time).
 */
export function ownerGone(owner: string | undefined, thisBoot: string, startOf: (pid: string) => string | undefined): boolean {
  const m = /^([^:]+):(\d+):(\d+)$/.exec(owner ?? '');
  if (!m || m[1] !== thisBoot) return false;
  return startOf(m[2]!) !== m[3];
}

/** ownerGone against this machine's /proc. */
export function ownerGoneHere(owner: string | undefined): boolean {
  return ownerGone(owner, bootId(), (pid) => startTimeOf(readProc(`/proc/${pid}/stat`) ?? ''));
}

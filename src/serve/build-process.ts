import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { isRunning, processRef, type ProcessRef } from '../chroot/process.js';
import type { ServePaths } from '../layout/serve-paths.js';

/**
 * The shell around a task's build: runs it with stdout to result.json and stderr to the
 * log, then writes its exit code (`exit`, renamed into place), so whoever watches — this
 * service or the next one after a restart — learns how it ended without being its parent.
 */
const WRAPPER = 'cd "$1" && shift && "$@" >result.json 2>>build.log; echo $? >exit.tmp && mv exit.tmp exit';

/**
 * Starts a task's build as its own session and process group (setsid: a Ctrl-C or a
 * kill -9 of the service does not reach it), detached from the service, so a restarted
 * service finds it still running and follows it.
 * @param argv the build command (`iglu … chroot build --spread …`) as an argument vector
 * @returns the group leader (its pid is the process group id)
 */
export async function startBuild(paths: ServePaths, id: string, argv: string[], env: Record<string, string>): Promise<ProcessRef> {
  const dir = paths.task(id);
  await mkdir(dir, { recursive: true });
  await rm(paths.exit(id), { force: true });
  const devnull = openSync('/dev/null', 'r');
  try {
    const child = spawn('/bin/sh', ['-c', WRAPPER, 'iglu-task', dir, ...argv], {
      detached: true,
      stdio: [devnull, 'ignore', 'ignore'],
      env: { ...process.env, ...env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error('the build did not start');
    child.unref();
    return await processRef(pid).catch(() => ({ pid, start: -1 }));
  } finally {
    closeSync(devnull);
  }
}

/** Whether any process of the build's group still runs (the leader may be gone while the build itself is not). */
export async function buildAlive(ref: ProcessRef): Promise<boolean> {
  if (await isRunning(ref)) return true;
  try {
    process.kill(-ref.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to the build's whole process group; a group already gone is not an error. */
export function signalBuild(ref: ProcessRef, signal: NodeJS.Signals): void {
  try {
    process.kill(-ref.pid, signal);
  } catch {
    // gone
  }
}

/** The build's exit code once it has ended, from its `exit` file; undefined while it runs or when it was killed before writing it. */
export async function exitCodeOf(paths: ServePaths, id: string): Promise<number | undefined> {
  const text = await readFile(paths.exit(id), 'utf8').catch(() => undefined);
  const code = text === undefined ? NaN : Number(text.trim());
  return Number.isInteger(code) ? code : undefined;
}

import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { interrupted } from './abort.js';
import { tailOf } from './tail.js';

/**
 * Runs a host command with its output appended to `logFile`. The command gets a process
 * group of its own; when `signal` aborts (the first Ctrl-C), the whole group gets SIGTERM,
 * and SIGKILL 2 s later — a script such as debootstrap leaves no child (dpkg, wget)
 * running — and the call rejects with `interrupted` once the command has exited.
 * @throws IgluError with the log's tail when it fails or cannot start; `interrupted`
 *   (exit code 130) when `signal` aborted it
 */
export async function runLogged(cmd: string, args: string[], logFile: string, installHint: string, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw interrupted(cmd);
  const to = { file: logFile, append: true };
  const child = execa(cmd, args, { stdin: 'ignore', stdout: to, stderr: to, reject: false, detached: true });
  const group = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // the group is gone already
    }
  };
  let killer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    group('SIGTERM');
    killer = setTimeout(() => group('SIGKILL'), 2000);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await child;
    if (signal?.aborted) {
      group('SIGKILL'); // whatever of the group outlived the command
      throw interrupted(cmd);
    }
    if (res.failed) {
      const why = res.exitCode === undefined ? `could not start (${res.shortMessage})` : `exited with ${res.exitCode}`;
      throw new IgluError(`${cmd} ${why}:\n${await tailOf(logFile)}`, {
        hint: res.exitCode === undefined ? installHint : `the whole log is ${logFile}`,
      });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    clearTimeout(killer);
  }
}

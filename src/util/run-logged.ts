import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { tailOf } from './tail.js';

/**
 * Runs a host command with its output appended to `logFile`.
 * @throws IgluError with the log's tail when it fails or cannot start
 */
export async function runLogged(cmd: string, args: string[], logFile: string, installHint: string): Promise<void> {
  const to = { file: logFile, append: true };
  const res = await execa(cmd, args, { stdin: 'ignore', stdout: to, stderr: to, reject: false });
  if (res.failed) {
    const why = res.exitCode === undefined ? `could not start (${res.shortMessage})` : `exited with ${res.exitCode}`;
    throw new IgluError(`${cmd} ${why}:\n${await tailOf(logFile)}`, {
      hint: res.exitCode === undefined ? installHint : `the whole log is ${logFile}`,
    });
  }
}

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/** The built CLI (npm test builds first). */
export const CLI = fileURLToPath(new URL('../../bin/iglu.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `iglu ARGS` as a user would, without a TTY; never throws on a non-zero exit. */
export async function iglu(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await execa('node', [CLI, ...args], { reject: false, env, stdin: 'ignore' });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs iglu and parses its --json stdout; fails with stderr when the exit code is not 0. */
export async function igluJson<T>(args: string[], env: Record<string, string> = {}): Promise<T> {
  const r = await iglu([...args, '--json'], env);
  if (r.code !== 0) throw new Error(`iglu ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Writes an iglu.yaml into a new temporary directory; returns its path. */
export function writeConfig(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-test-'));
  const file = path.join(dir, 'iglu.yaml');
  writeFileSync(file, text);
  return file;
}

/** A short unique name for this test run's objects. */
export function uniqueName(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 7)}`;
}

const scratch: string[] = [];
process.on('exit', () => {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const dir of scratch) {
    // never through something a failed test left mounted (rm -r would follow into it)
    if (mountinfo.split('\n').some((l) => (l.split(' ')[4] ?? '').startsWith(`${dir}/`))) continue;
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A new directory under the system's temporary directory, removed when the test process
 * exits unless something is still mounted under it (work directories hold build roots
 * of some 700 MB; a CI machine must not keep them run after run).
 */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { sandboxArgv, type SandboxSpec } from './argv.js';
import { CHROOT_SCRIPTS } from '../layout/in-root.js';

/** Where a sandboxed command's output goes. */
export type SandboxOutput = { file: string } | 'terminal' | 'capture';

/** How a sandboxed command ended. */
export interface SandboxResult {
  /** Its exit code, 128+N when signal N ended it. */
  exitCode: number;
  /** With output "capture": what it printed (empty otherwise). */
  stdout: string;
  stderr: string;
  /** True when `signal` aborted it. */
  canceled: boolean;
  /** True when the timeout ended it. */
  timedOut: boolean;
}

/** The argv that runs `spec` from this process (root or not): see sandboxArgv. */
export function localSandboxArgv(spec: SandboxSpec): string[] {
  return sandboxArgv(spec, { asRoot: process.getuid?.() === 0, scripts: CHROOT_SCRIPTS });
}

/**
 * Runs `spec` in a bubblewrap sandbox on this host (argv.ts says what it sees). stdin is
 * closed unless the output is the terminal. The whole process tree dies with iglu
 * (--die-with-parent), also after a SIGKILL of iglu.
 * @param opts.started called with bwrap's PID once it runs (the holder a killed iglu leaves)
 * @throws IgluError when bwrap or setpriv/unshare cannot start (bubblewrap or util-linux missing)
 */
export async function runSandboxed(
  spec: SandboxSpec,
  output: SandboxOutput,
  opts: { signal?: AbortSignal; timeoutMs?: number; started?: (pid: number | undefined) => Promise<void> } = {},
): Promise<SandboxResult> {
  const argv = localSandboxArgv(spec);
  const io =
    output === 'terminal'
      ? ({ stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' } as const)
      : output === 'capture'
        ? ({ stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' } as const)
        : ({ stdin: 'ignore', stdout: { file: output.file, append: true }, stderr: { file: output.file, append: true } } as const);
  const child = execa(argv[0]!, argv.slice(1), {
    ...io,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    extendEnv: false,
    reject: false,
    cancelSignal: opts.signal,
    forceKillAfterDelay: 1000,
    timeout: opts.timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  try {
    await opts.started?.(child.pid);
    const res = await child;
    if (res.exitCode === undefined && !res.isCanceled && !res.signal && !res.timedOut) {
      throw new IgluError(`cannot start the sandbox (${argv[0]}): ${res.shortMessage}`, {
        hint: 'iglu needs bubblewrap and util-linux: apt-get install bubblewrap util-linux (scripts/setup.sh does)',
      });
    }
    const stderr = typeof res.stderr === 'string' ? res.stderr : '';
    if (res.exitCode === 127 && /bwrap|setpriv|unshare/.test(stderr) && /not found|No such file/.test(stderr)) {
      throw new IgluError(`cannot start the sandbox: ${stderr.trim().split('\n').slice(-1)[0]}`, {
        hint: 'apt-get install bubblewrap util-linux (scripts/setup.sh does)',
      });
    }
    return {
      exitCode: res.exitCode ?? (res.signal ? 128 + 9 : 1),
      stdout: typeof res.stdout === 'string' ? res.stdout : '',
      stderr,
      canceled: Boolean(res.isCanceled),
      timedOut: Boolean(res.timedOut),
    };
  } finally {
    child.kill('SIGKILL');
    await child.catch(() => undefined);
  }
}

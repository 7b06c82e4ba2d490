import { mkdir } from 'node:fs/promises';
import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { sandboxArgv, type SandboxSpec } from '../sandbox/argv.js';
import { mountPlan, type Bind } from './mounts.js';
import { type ChrootPaths } from '../layout/chroot-paths.js';
import { processRef, type ProcessRef } from './process.js';
import { updateState } from './state.js';
import { CHROOT_SCRIPTS } from '../layout/in-root.js';

/** A command to run in the build root. */
export interface RootCommand {
  argv: string[];
  /** The whole environment inside (nothing of iglu's own environment leaks in). */
  env: Record<string, string>;
  /** Host directories shown inside (recipe, build directory, runner). */
  binds: Bind[];
  /** Output: appended to this file, or the terminal's own stdin/stdout/stderr. */
  output: { file: string } | 'terminal';
  /** Working directory inside (default: bwrap's, the root). */
  cwd?: string;
  /** Ends the command (and its namespaces) when aborted. */
  signal?: AbortSignal;
  /** What the command may use (a package's build): /tmp's size, processes, memory. */
  limits?: SandboxSpec['limits'];
}

/** How the namespaces are entered: here, or by exec in a --farm container. */
export interface Launcher {
  /**
   * Tie the sandbox to its parent (bwrap --die-with-parent). Only on this host:
   * under `docker exec` the parent is runc, which exits right after starting the command
   * (the signal then killed builds at random: exit 137); there the container's removal is
   * the bound instead.
   */
  parentDeath: boolean;
  /** Whether the launcher starts the sandbox as root (default: whether iglu runs as root). */
  asRoot?: boolean;
  /** The --farm container, recorded in the session. */
  container?: string;
  /**
   * Starts `argv` (unshare … sandbox-enter.sh … bwrap …). `started` is called with the holder process when
   * it runs on this host. @returns the exit code
   */
  launch(argv: string[], cmd: RootCommand, started: (holder: ProcessRef | undefined) => Promise<void>): Promise<number>;
}

/** Writable, empty directories every build root command gets (HOME and the second temporary directory). */
export const ROOT_TMPFS = ['/root', '/var/tmp'];

/**
 * The sandbox of a build root command: the build root read-only as `/` (pivot_root, not
 * chroot), `cmd.binds` over it, tmpfs /tmp, /root and /var/tmp, no network but lo, root
 * inside mapped to SANDBOX_ID. Pure.
 */
export function rootSpec(
  root: string,
  cmd: Pick<RootCommand, 'argv' | 'env' | 'binds' | 'output' | 'cwd' | 'limits'>,
  parentDeath = true,
): SandboxSpec {
  return {
    root: { dir: root },
    binds: cmd.binds.map((b) => ({ host: b.host, inside: b.inside, readOnly: b.readOnly, ...(b.overlay ? { overlay: b.overlay } : {}) })),
    tmpfs: ROOT_TMPFS,
    argv: cmd.argv,
    env: cmd.env,
    hostname: 'iglu-chroot',
    ...(cmd.cwd ? { cwd: cmd.cwd } : {}),
    terminal: cmd.output === 'terminal',
    dieWithParent: parentDeath,
    ...(cmd.limits ? { limits: cmd.limits } : {}),
  };
}

/**
 * The argv that enters the build root: the bubblewrap sandbox of rootSpec (see
 * sandbox/argv.ts), staged by sandbox-enter.sh when `asRoot`. Pure.
 */
export function rootArgv(root: string, cmd: Pick<RootCommand, 'argv' | 'env' | 'binds' | 'output' | 'cwd' | 'limits'>, parentDeath = true, asRoot = true): string[] {
  return sandboxArgv(rootSpec(root, cmd, parentDeath), { asRoot, scripts: CHROOT_SCRIPTS });
}

/** Runs the namespaces' holder on this host (execa), output to a log file or the terminal. */
export const LOCAL: Launcher = {
  parentDeath: true,
  async launch(argv, cmd, started) {
    const io = cmd.output === 'terminal'
      ? ({ stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' } as const)
      : ({ stdin: 'ignore', stdout: { file: cmd.output.file, append: true }, stderr: { file: cmd.output.file, append: true } } as const);
    const child = execa(argv[0]!, argv.slice(1), { ...io, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, extendEnv: false, reject: false, cancelSignal: cmd.signal, forceKillAfterDelay: 1000 });
    try {
      await started(child.pid ? await processRef(child.pid).catch(() => undefined) : undefined);
      const res = await child;
      if (res.exitCode === undefined && !res.isCanceled && !res.signal) throw new IgluError(`cannot start the sandbox to enter the build root: ${res.shortMessage}`, { hint: 'the chroot phase needs bubblewrap and util-linux: apt-get install bubblewrap util-linux' });
      return res.exitCode ?? 128 + 9;
    } finally {
      child.kill('SIGKILL');
      await child.catch(() => undefined);
    }
  },
};

/**
 * Runs a command chrooted into the build root in its own namespaces (see rootArgv): the
 * command has no network but a loopback (with --farm, distcc reaches the farm through
 * a socket: farm/distcc-socket.ts) and every mount it needs (mounts.ts) exists only in its own mount namespace,
 * so it vanishes with the namespace. The session (who, what, every mount) is recorded in
 * chroot/state.json before the command starts and dropped when it ends;
 * `releaseLeftovers` handles what a killed iglu could not drop. The caller holds the
 * chroot lock.
 * @returns the command's exit code (128+N when signal N ended it)
 * @throws IgluError when the sandbox cannot start (bubblewrap or util-linux missing)
 */
export async function runInRoot(paths: ChrootPaths, cmd: RootCommand, launcher: Launcher = LOCAL): Promise<number> {
  const mounts = mountPlan(cmd.binds);
  const owner = await processRef();
  // bwrap mounts onto existing directories only: the build root is read-only inside
  for (const inside of [...ROOT_TMPFS, ...cmd.binds.map((b) => b.inside)]) await mkdir(paths.inRoot(inside), { recursive: true });
  let recorded = false;
  let holderPid: number | undefined;
  try {
    return await launcher.launch(rootArgv(paths.root, cmd, launcher.parentDeath, launcher.asRoot ?? process.getuid?.() === 0), cmd, async (holder) => {
      holderPid = holder?.pid;
      await updateState(paths.state, (s) => {
        s.sessions.push({ owner, holder, container: launcher.container, command: cmd.argv.join(' '), root: paths.root, mounts, startedAt: new Date().toISOString() });
      });
      recorded = true;
    });
  } finally {
    if (recorded) {
      await updateState(paths.state, (s) => {
        s.sessions = s.sessions.filter((x) => !(x.owner.pid === owner.pid && x.owner.start === owner.start && x.holder?.pid === holderPid));
      });
    }
  }
}

import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { mountPlan, mountsFile, type Bind } from './mounts.js';
import { CHROOT_SCRIPTS, type ChrootPaths } from './paths.js';
import { processRef, type ProcessRef } from './process.js';
import { updateState } from './state.js';

/** A command to run in the build root. */
export interface RootCommand {
  argv: string[];
  /** The whole environment inside (nothing of iglu's own environment leaks in). */
  env: Record<string, string>;
  /** Host directories shown inside (recipe, build directory, runner). */
  binds: Bind[];
  /** Output: appended to this file, or the terminal's own stdin/stdout/stderr. */
  output: { file: string } | 'terminal';
  /** Ends the command (and its namespaces) when aborted. */
  signal?: AbortSignal;
}

/** How the namespaces are entered: here, or by exec in a --farm container. */
export interface Launcher {
  /** Keep the surrounding network namespace (the farm's internal overlay) instead of a new, empty one. */
  keepNetwork: boolean;
  /**
   * Tie the namespaces to their parent with setpriv --pdeathsig KILL. Only on this host:
   * under `docker exec` the parent is runc, which exits right after starting the command
   * (the signal then killed builds at random: exit 137); there the container's removal is
   * the bound instead.
   */
  parentDeath: boolean;
  /** The --farm container, recorded in the session. */
  container?: string;
  /**
   * Starts `argv` (setpriv … unshare …). `started` is called with the holder process when
   * it runs on this host. @returns the exit code
   */
  launch(argv: string[], cmd: RootCommand, started: (holder: ProcessRef | undefined) => Promise<void>): Promise<number>;
}

/**
 * The argv that enters the build root: setpriv(1) --pdeathsig KILL when `parentDeath` (a
 * SIGKILL of iglu still ends everything), unshare(1) with new mount (private propagation), PID
 * (--kill-child), IPC, UTS and — unless `keepNetwork` — network namespaces, then
 * run-in-root.sh as PID 1, which mounts what `mountsPath` lists and chroots. Pure.
 */
export function rootArgv(root: string, mountsPath: string, cmd: Pick<RootCommand, 'argv' | 'env'>, keepNetwork: boolean, parentDeath = true): string[] {
  return [
    ...(parentDeath ? ['setpriv', '--pdeathsig', 'KILL', '--'] : []),
    'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--ipc', '--uts', ...(keepNetwork ? [] : ['--net']),
    'sh', path.join(CHROOT_SCRIPTS, 'run-in-root.sh'), root, mountsPath, 'iglu-chroot', '--',
    '/usr/bin/env', '-i', ...Object.entries(cmd.env).map(([k, v]) => `${k}=${v}`), ...cmd.argv,
  ];
}

/** Runs the namespaces' holder on this host (execa), output to a log file or the terminal. */
export const LOCAL: Launcher = {
  keepNetwork: false,
  parentDeath: true,
  async launch(argv, cmd, started) {
    const io = cmd.output === 'terminal'
      ? ({ stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' } as const)
      : ({ stdin: 'ignore', stdout: { file: cmd.output.file, append: true }, stderr: { file: cmd.output.file, append: true } } as const);
    const child = execa(argv[0]!, argv.slice(1), { ...io, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, extendEnv: false, reject: false, cancelSignal: cmd.signal, forceKillAfterDelay: 1000 });
    try {
      await started(child.pid ? await processRef(child.pid).catch(() => undefined) : undefined);
      const res = await child;
      if (res.exitCode === undefined && !res.isCanceled && !res.signal) throw new IgluError(`cannot run setpriv/unshare to enter the build root: ${res.shortMessage}`, { hint: 'the chroot phase needs util-linux (setpriv, unshare) and root' });
      return res.exitCode ?? 128 + 9;
    } finally {
      child.kill('SIGKILL');
      await child.catch(() => undefined);
    }
  },
};

/**
 * Runs a command chrooted into the build root in its own namespaces (see rootArgv): the
 * command has no network — only a loopback, or with --farm only the farm's internal
 * overlay — and every mount it needs (mounts.ts) exists only in its own mount namespace,
 * so it vanishes with the namespace. The session (who, what, every mount) is recorded in
 * chroot/state.json before the command starts and dropped when it ends;
 * `releaseLeftovers` handles what a killed iglu could not drop. The caller holds the
 * chroot lock.
 * @returns the command's exit code (128+N when signal N ended it)
 * @throws IgluError when setpriv/unshare cannot run (util-linux missing, not root)
 */
export async function runInRoot(paths: ChrootPaths, cmd: RootCommand, launcher: Launcher = LOCAL): Promise<number> {
  const mounts = mountPlan(cmd.binds);
  const owner = await processRef();
  const mountsPath = path.join(paths.dir, `mounts.${process.pid}`);
  await writeFile(mountsPath, mountsFile(mounts));
  let recorded = false;
  let holderPid: number | undefined;
  try {
    return await launcher.launch(rootArgv(paths.root, mountsPath, cmd, launcher.keepNetwork, launcher.parentDeath), cmd, async (holder) => {
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
    await rm(mountsPath, { force: true });
  }
}

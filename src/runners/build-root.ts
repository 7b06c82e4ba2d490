import { availableParallelism } from 'node:os';
import path from 'node:path';
import { chrootEnv, RUNNER_BIND } from '../chroot/build-env.js';
import type { Bind } from '../chroot/mounts.js';
import { runInRoot, type RootCommand } from '../chroot/run.js';
import type { CompileCounts } from '../packages/manifest.js';
import type { RefusedTask } from '../farm/verify.js';
import { RUNNER_IN, SYSROOT } from '../layout/in-root.js';
import type { ChrootPaths } from '../layout/chroot-paths.js';
import { phaseFailed } from '../packages/fetch.js';
import { compileLogEnv, readCompileCounts, workspaceBinds, workspaceEnv } from '../packages/workspace.js';
import type { PackageRunner, RunnerJob, RunnerResult } from '../pipeline/runner.js';

/** How commands enter the build root: on this host, or in a container on the farm's overlay (--farm: runners/farm-root.ts). */
export interface RootExec {
  mode: 'local' | 'farm';
  /** What a build adds to chrootEnv (DISTCC_HOSTS, PATH with /usr/lib/distcc). */
  env: Record<string, string>;
  /** What a build sees besides its workspace and sysroot (the distcc forwarder's socket). */
  binds?: Bind[];
  /** -j for builds. */
  jobs: number;
  /** --farm on a farm whose every task runs on this machine: compiles stay here (farm/here.ts). */
  here?: boolean;
  run(cmd: RootCommand): Promise<number>;
  /** Counts a build's compile jobs from its distcc logs (farm). */
  counts?: (distccLog: string, wrapperLog: string) => CompileCounts;
  nodeOf?: (ip: string) => string | undefined;
  refused?: RefusedTask[];
  /** Shows the farm's use while a build runs (farm/use.ts: watchFarmUse); dispose to stop. */
  watchUse?: (show: (line: string) => void) => AsyncDisposable;
}

/** A runner of the chroot phase that builds in the build root, and how it enters it. */
export interface BuildRootRunner extends PackageRunner {
  mode: 'local' | 'farm';
}

/**
 * The runner that builds in the build root through `exec`: `iglupkg.sh bp` in the
 * sandbox of runInRoot (the build root read-only as /, own namespaces, no network but
 * lo; with --farm distcc's socket), the package's workspace (packages/workspace.ts) and
 * its sysroot read-only at /sysroot.
 */
export function buildRootRunner(exec: RootExec): BuildRootRunner {
  return {
    where: 'chroot',
    mode: exec.mode,
    jobs: exec.jobs,
    ...(exec.refused ? { refused: exec.refused } : {}),
    ...(exec.nodeOf ? { nodeOf: exec.nodeOf } : {}),
    run: (job) => buildInRoot(exec, job),
  };
}

/** The runner that enters the build root on this host (runInRoot), -j the host's CPUs. */
export function localRunner(paths: ChrootPaths): BuildRootRunner & AsyncDisposable {
  const exec: RootExec = { mode: 'local', env: {}, jobs: availableParallelism(), run: (cmd) => runInRoot(paths, cmd) };
  return { ...buildRootRunner(exec), async [Symbol.asyncDispose]() {} };
}

async function buildInRoot(exec: RootExec, job: RunnerJob): Promise<RunnerResult> {
  const { ws, logFile } = job;
  if (!job.sysroot.dir) throw new Error('the build root shows the sysroot from a host directory');
  const farm = exec.mode === 'farm';
  const binds: Bind[] = [RUNNER_BIND, ...workspaceBinds(ws), { host: job.sysroot.dir, inside: SYSROOT, readOnly: true }, ...(exec.binds ?? [])];
  const how = exec.here ? ', compiling here: every task of the farm runs on this machine (farm.oneNode)' : farm ? ' through distcc' : '';
  const building = `build in the chroot${how}, -j${exec.jobs} (log: ${logFile})`;
  job.output(building);
  const env = chrootEnv(exec.jobs, { ...exec.env, ...workspaceEnv(ws), ...(farm ? compileLogEnv() : {}) });
  const code = await (async () => {
    await using _use = exec.watchUse?.((line) => job.output(`${building}; ${line}`));
    const argv = ['mksh', `${RUNNER_IN}/iglupkg.sh`, 'bp'];
    return await exec.run({ argv, env, binds, output: { file: logFile }, limits: job.limits, ...(job.signal ? { signal: job.signal } : {}) });
  })();
  if (code !== 0) throw await phaseFailed(job.recipe, 'build', logFile, job.signal?.aborted);
  const compiles = farm && exec.counts ? await readCompileCounts(ws, exec.counts) : null;
  return { outRoot: path.join(ws.recipeDir, 'out'), compiles, release: async () => {} };
}

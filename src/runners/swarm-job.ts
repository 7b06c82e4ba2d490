import path from 'node:path';
import { chrootEnv } from '../chroot/build-env.js';
import { IgluError } from '../errors.js';
import { phaseFailed } from '../packages/fetch.js';
import { compileLogEnv, readCompileCounts, workspaceEnv } from '../packages/workspace.js';
import type { PackageRunner, RunnerJob, RunnerResult } from '../pipeline/runner.js';
import { makeBundle, takeOutputs } from '../spread/bundle.js';
import type { SpreadFarm } from '../spread/farm.js';
import type { JobRun } from '../spread/job.js';
import { PackageStore } from '../store/package-store.js';
import { exists } from '../util/exists.js';

/**
 * The runner of a spread build: each package a swarm job (spread/job.ts) once the farm
 * has room for it (critical path first). Its bundle (sysroot, runner scripts, tree with
 * the fetched sources, the build's environment: chrootEnv with the farm's distcc
 * settings) goes into the farm's store, the job builds it on whatever node the swarm
 * chooses, and what it sent back is taken into the workspace's out/ and run/. The bundle
 * and the job's upload leave the store at the end; the job's service stays until
 * `release()`, so a second run attaches to it until the package is stored. A failed
 * build's log goes into the store (PackageStore.recordFailure), its result never.
 */
export function swarmJobRunner(farm: SpreadFarm): PackageRunner {
  return { where: 'chroot', jobs: farm.jobs, nodeOf: farm.nodeOf, run: (job) => runAsJob(farm, job) };
}

async function runAsJob(farm: SpreadFarm, job: RunnerJob): Promise<RunnerResult | undefined> {
  const { recipe, ws } = job;
  if (!job.sysroot.dir) throw new Error('a swarm job needs its sysroot as a host directory');
  const env = chrootEnv(farm.jobs, { ...farm.env, ...workspaceEnv(ws), ...compileLogEnv() });
  const sysroot = job.sysroot.dir;
  const bundle = await job.hostSide(() => makeBundle(farm.store, { sysroot, ws, env }));
  job.output(`waiting for room on the farm (${farm.slots.busy}/${farm.room} jobs running)`);
  const token = PackageStore.newToken();
  try {
    await farm.store.openStaging(token);
    const run = await farm.slots.with(recipe.name, job.priority, () => submit(farm, job, bundle.sha256, token), job.signal);
    if (!run) return undefined;
    try {
      await takeResult(farm, job, run, token);
    } catch (err) {
      await run.release();
      throw err;
    }
    const compiles = await readCompileCounts(ws, farm.counts);
    const { node, startedAt, endedAt, attempts, usage, release } = run;
    return { outRoot: path.join(ws.recipeDir, 'out'), compiles, node, startedAt, endedAt, attempts, ...(usage ? { usage } : {}), release };
  } finally {
    await farm.store.dropStaged(token);
    await farm.store.drop(bundle.sha256);
  }
}

function submit(farm: SpreadFarm, job: RunnerJob, bundle: string, token: string): Promise<JobRun | undefined> {
  job.output('submitted as a swarm job');
  return farm.run({
    pkg: job.recipe.name,
    inputs: job.inputs,
    bundle,
    recipeDirIn: path.posix.dirname(job.ws.recipeIn),
    token,
    logFile: job.logFile,
    limits: job.limits,
    signal: job.signal,
    onNode: (node) => job.output(`building on ${node}, -j${farm.jobs} through distcc (log: ${job.logFile})`),
    ...(job.sysroot.headersFromImage ? { headersFromImage: job.sysroot.headersFromImage } : {}),
  });
}

/** Takes a job's upload into the workspace. @throws IgluError for a failed build (its log kept in the store) or an empty upload */
async function takeResult(farm: SpreadFarm, job: RunnerJob, run: JobRun, token: string): Promise<void> {
  const { recipe, logFile, signal } = job;
  if (run.code !== 0) {
    if (!signal?.aborted) {
      const log = (await farm.store.put(logFile)).sha256;
      await farm.store.recordFailure({
        inputs: job.inputs,
        name: recipe.name,
        version: `${recipe.pkgver}-${recipe.pkgrel}`,
        log,
        node: run.node,
        at: new Date().toISOString(),
      });
    }
    throw await phaseFailed(recipe, 'build', logFile, signal?.aborted);
  }
  const staged = farm.store.stagedPath(token, 'out.tar');
  if (!(await exists(staged))) throw new IgluError(`${recipe.name}: its build job on ${run.node} ended well but sent nothing back`, { hint: `see ${logFile}` });
  await job.hostSide(() => takeOutputs(staged, job.ws));
}

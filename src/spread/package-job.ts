import path from 'node:path';
import { chrootEnv } from '../chroot/build-env.js';
import { IgluError } from '../errors.js';
import { phaseFailed } from '../packages/fetch.js';
import type { CompileCounts, PackageManifest } from '../packages/manifest.js';
import type { PackagePaths } from '../layout/package-paths.js';
import { compileLogEnv, dropWorkspace, readCompileCounts, workspaceEnv, type PackageWorkspace } from '../packages/workspace.js';
import type { RecipeMeta } from '../recipes/read.js';
import { PackageStore } from '../store/package-store.js';
import { exists } from '../util/exists.js';
import { makeBundle, takeOutputs } from './bundle.js';
import { restoreFromStore } from '../store/package-transfer.js';
import type { SpreadFarm } from './farm.js';
import type { JobUsage } from './job-spec.js';

/** What the packages of one spread chroot build share (chroot/build.ts gives it). */
export interface SpreadBuild {
  farm: SpreadFarm;
  paths: PackagePaths;
  /** Runs host-side work of a package (fetch, bundles, the build root's state) one package at a time. */
  hostSide<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** A package's place in the queue for the farm's slots: its longest remaining chain, seconds. */
  priority(name: string): number;
  /** Installs a build's packages into the build root's sysroot, recording each. */
  install(manifests: PackageManifest[]): Promise<void>;
  signal?: AbortSignal;
}

/** What a package's job gave: where and how it ran, its compile counts, and what releases the job. */
export interface JobBuilt {
  node: string;
  startedAt: string;
  endedAt: string;
  attempts: number;
  usage?: JobUsage;
  compiles: CompileCounts;
  /** Removes the job's service: call once the package is stored, or has failed. */
  release(): Promise<void>;
}

/**
 * A build of `inputs` from the farm's store (restoreFromStore: checked against its
 * sha256s), its log written to `logFile`, installed into the build root's sysroot; the
 * package's workspace is dropped.
 * @returns its manifests, the main package first; undefined when the store has no such build
 * @throws IgluError for a damaged blob or a record that does not match its manifests
 */
export async function fromStore(b: SpreadBuild, recipe: RecipeMeta, inputs: string, logFile: string): Promise<PackageManifest[] | undefined> {
  return b.hostSide(recipe.name, async () => {
    const got = await restoreFromStore(b.farm.store, inputs, b.paths, logFile);
    if (got) {
      await b.install(got);
      await dropWorkspace(b.paths, recipe.name);
    }
    return got;
  });
}

/**
 * Follows another run's job for the same `inputs` (attachJob: its log into `logFile`,
 * live; Ctrl-C only stops following), then takes its package from the store (fromStore).
 * A job that ended just before is found in the store all the same. When the job failed,
 * `logFile` gets the whole log of that failure from the store (PackageStore.failure).
 * @returns the node it was built on ('' when unknown) and the manifests; undefined when
 *   no other run builds it (or its job was a leftover of a run that is gone, now removed)
 *   and the store does not have it
 * @throws IgluError when the other run's job ended without storing the package (its
 *   build failed; its log is in `logFile`), or "interrupted" when `b.signal` aborts
 */
export async function attachToJob(
  b: SpreadBuild,
  recipe: RecipeMeta,
  inputs: string,
  logFile: string,
  onNode: (node: string) => void,
): Promise<{ node: string; manifests: PackageManifest[] } | undefined> {
  const since = new Date().toISOString();
  const attached = await b.farm.attach({ inputs, logFile, signal: b.signal, onNode });
  const manifests = await fromStore(b, recipe, inputs, logFile);
  if (manifests) return { node: attached?.node ?? '', manifests };
  const failed = attached && !attached.stale ? await b.farm.store.failure(inputs) : undefined;
  // the whole log of the failure it followed, in place of what the stream gave
  if (failed && failed.at >= since) await b.farm.store.get(failed.log, logFile).catch(() => undefined);
  if (attached && !attached.stale)
    throw new IgluError(`${recipe.name}: the build of another run with the same inputs, on ${attached.node || 'the farm'}, did not store it (it failed)`, {
      hint: `its log: ${logFile}; run again to build it here`,
    });
  return undefined;
}

/**
 * Builds one package as a swarm job (spread/job.ts) once the farm has room for it
 * (critical path first): its bundle (sysroot, runner, tree with the fetched sources,
 * the build's environment: chrootEnv with the farm's distcc settings) goes into the
 * store, the job builds it on whatever node the swarm chooses, and what it sent back is
 * taken into the workspace's out/ and run/. The bundle and the job's upload leave the
 * store at the end; the job's service stays until `release()`.
 * @returns how it ran; undefined when another run's job for the same inputs got the
 *   job's name first (attach to it: attachToJob)
 * A failed build's log goes into the store (PackageStore.recordFailure), its result never.
 * @throws IgluError for a failed build (the log's tail), a lost job, or a job that sent nothing
 */
export async function buildAsJob(
  b: SpreadBuild,
  recipe: RecipeMeta,
  inputs: string,
  ws: PackageWorkspace,
  sysroot: string,
  logFile: string,
  output: (line: string) => void,
): Promise<JobBuilt | undefined> {
  const { farm } = b;
  const env = chrootEnv(farm.jobs, { ...farm.env, ...workspaceEnv(ws), ...compileLogEnv() });
  const bundle = await b.hostSide(recipe.name, () => makeBundle(farm.store, { sysroot, ws, env }));
  output(`waiting for room on the farm (${farm.slots.busy}/${farm.room} jobs running)`);
  const token = PackageStore.newToken();
  try {
    await farm.store.openStaging(token);
    const run = await farm.slots.with(
      recipe.name,
      b.priority(recipe.name),
      () => {
        output('submitted as a swarm job');
        return farm.run({
          pkg: recipe.name,
          inputs,
          bundle: bundle.sha256,
          recipeDirIn: path.posix.dirname(ws.recipeIn),
          token,
          logFile,
          signal: b.signal,
          onNode: (node) => output(`building on ${node}, -j${farm.jobs} through distcc (log: ${logFile})`),
        });
      },
      b.signal,
    );
    if (!run) return undefined;
    try {
      if (run.code !== 0) {
        // the failure's log is kept in the store (never its result): an attached run shows it
        if (!b.signal?.aborted)
          await farm.store.recordFailure({
            inputs,
            name: recipe.name,
            version: `${recipe.pkgver}-${recipe.pkgrel}`,
            log: (await farm.store.put(logFile)).sha256,
            node: run.node,
            at: new Date().toISOString(),
          });
        throw await phaseFailed(recipe, 'build', logFile, b.signal?.aborted);
      }
      const staged = farm.store.stagedPath(token, 'out.tar');
      if (!(await exists(staged)))
        throw new IgluError(`${recipe.name}: its build job on ${run.node} ended well but sent nothing back`, { hint: `see ${logFile}` });
      await b.hostSide(recipe.name, () => takeOutputs(staged, ws));
    } catch (err) {
      await run.release();
      throw err;
    }
    return {
      node: run.node,
      startedAt: run.startedAt,
      endedAt: run.endedAt,
      attempts: run.attempts,
      ...(run.usage ? { usage: run.usage } : {}),
      compiles: await readCompileCounts(ws, farm.counts),
      release: run.release,
    };
  } finally {
    await farm.store.dropStaged(token);
    await farm.store.drop(bundle.sha256);
  }
}

import { IgluError } from '../errors.js';
import type { PackagePaths } from '../layout/package-paths.js';
import type { PackageManifest } from '../packages/manifest.js';
import type { RecipeMeta } from '../recipes/read.js';
import type { SourceMirror } from '../sources/cache.js';
import type { UsedSource } from '../packages/fetch.js';
import type { SpreadFarm } from '../spread/farm.js';
import { publishToStore, restoreFromStore } from '../store/package-transfer.js';
import { publishSources, storeMirror } from '../store/source-mirror.js';
import type { SourceCache } from '../sources/cache.js';

/**
 * Builds shared between runs and machines: the farm's package store (store/), where a
 * build of the same inputs is taken instead of built, and the builds in flight another
 * run has claimed (a swarm job's name), which a run follows and takes. The pipeline asks
 * it when a phase has one (--spread).
 */
export interface SharedBuilds {
  /** The sources a build of this resolution key used, as the store recorded them (PackageStore.resolved). */
  resolved(resolution: string): Promise<Record<string, string> | undefined>;
  /** A build of `inputs` from the store into out/, checked against its sha256s, its log into `logFile`; undefined when there is none. */
  restore(inputs: string, logFile: string): Promise<PackageManifest[] | undefined>;
  /**
   * Follows another run's build of the same inputs (its log into `logFile`, live), then
   * takes its package with `restore` (a build that ended just before is found all the same).
   * @returns its node ('' when unknown) and manifests; undefined when no run builds it
   *   and the store does not have it
   * @throws IgluError when that build ended without storing the package (it failed)
   */
  attach(
    recipe: RecipeMeta,
    inputs: string,
    logFile: string,
    onNode: (node: string) => void,
    restore: () => Promise<PackageManifest[] | undefined>,
  ): Promise<{ node: string; manifests: PackageManifest[] } | undefined>;
  /** Stores a build's packages and log under `inputs` (and the sources it used under `resolution`). */
  publish(inputs: string, manifests: PackageManifest[], logFile: string, resolution: string): Promise<void>;
  /** Where a fetch finds sources the source cache lacks. */
  mirror: SourceMirror;
  /** Puts the sources a fetch used into the store, for a manager that lacks them. */
  publishSources(used: UsedSource[]): Promise<void>;
}

/** The farm's package store and its jobs as SharedBuilds (a spread build). */
export function farmBuilds(farm: SpreadFarm, paths: PackagePaths, cache: SourceCache, signal?: AbortSignal): SharedBuilds {
  const { store } = farm;
  const restore = (inputs: string, logFile: string) => restoreFromStore(store, inputs, paths, logFile);
  return {
    resolved: (resolution) => store.resolved(resolution),
    restore,
    async attach(recipe, inputs, logFile, onNode, restoreNow) {
      const since = new Date().toISOString();
      const attached = await farm.attach({ inputs, logFile, signal, onNode });
      const manifests = await restoreNow();
      if (manifests) return { node: attached?.node ?? '', manifests };
      if (!attached || attached.stale) return undefined;
      // the whole log of the failure it followed, in place of what the stream gave
      const failed = await store.failure(inputs);
      if (failed && failed.at >= since) await store.get(failed.log, logFile).catch(() => undefined);
      throw new IgluError(`${recipe.name}: the build of another run with the same inputs, on ${attached.node || 'the farm'}, did not store it (it failed)`, {
        hint: `its log: ${logFile}; run again to build it here`,
      });
    },
    async publish(inputs, manifests, logFile, resolution) {
      await publishToStore(store, inputs, manifests, paths, logFile, resolution);
    },
    mirror: storeMirror(store),
    async publishSources(used) {
      await publishSources(store, cache, used);
    },
  };
}

import { IgluError } from '../errors.js';
import { SOURCE_DATE_EPOCH, SYSROOT } from '../layout/in-root.js';
import type { PackagePaths } from '../layout/package-paths.js';
import { fetchPackage, startBuildIn, type FetchOutcome } from '../packages/fetch.js';
import { agreedSources, inputsHash, resolutionKey } from '../packages/inputs.js';
import { readManifest, upToDate, type PackageManifest } from '../packages/manifest.js';
import { outputNames, packOutputs } from '../packages/outputs.js';
import { recipeHash, runnerIdentity } from '../packages/recipe-hash.js';
import { dropWorkspace, packageWorkspace } from '../packages/workspace.js';
import type { RecipeMeta } from '../recipes/read.js';
import type { SourceCache } from '../sources/cache.js';
import { exists } from '../util/exists.js';
import type { BuildLimits } from '../sandbox/limits.js';
import { limited } from './limited.js';
import type { Identities } from './identities.js';
import { fromManifests, outcomeLine, packageEntry, type PackageOutcome } from './outcome.js';
import type { PackageRunner, RunnerJob, RunnerResult } from './runner.js';
import type { SharedBuilds } from './shared-builds.js';
import { withUndeclaredHint } from './undeclared.js';

/** What differs between the phases that build packages (the toolchain phase, the chroot phase). */
export interface BuildPhase {
  /** The identity of what every build starts from (the build root's base; the farm image), read when the first package builds. */
  base(): Promise<string>;
  /** Makes the sysroot a build sees: the toolchain and what the recipe declares, nothing else. */
  sysroot(recipe: RecipeMeta, output: (line: string) => void): Promise<RunnerJob['sysroot']>;
  /** Whether every ELF file must be musl's (the chroot phase). */
  checkElf: boolean;
  /** Installs packages built or taken where later builds see them (the build root's /sysroot). */
  install?(manifests: PackageManifest[]): Promise<void>;
  /** Whether these packages are installed there already. */
  installed?(manifests: PackageManifest[]): Promise<boolean>;
}

/** Everything the pipeline needs, the same for every package of a phase. */
export interface PipelineOptions {
  paths: PackagePaths;
  cache: SourceCache;
  offline: boolean;
  /** Whether a package is built even when it is up to date (--rebuild). */
  rebuild: (name: string) => boolean;
  /** Where recipe code runs; asked for when the first package builds (in `iglu build`, after prepare). */
  runner: () => PackageRunner;
  /** Builds shared with other runs (the farm's store: --spread); asked for when the first package needs it. */
  shared?: () => SharedBuilds;
  phase: BuildPhase;
  identities: Identities;
  /** Host-side work of a package (fetch, sysroot, pack, install): one at a time where packages build at once. */
  hostSide: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  /** A package's place in the queue for the farm's room, seconds of its longest remaining chain. */
  priority: (name: string) => number;
  /** What a package's build may use (config `limits`, per package). */
  limits: (name: string) => BuildLimits;
  signal?: AbortSignal;
}

/** One package on its way through the pipeline. */
interface Build {
  recipe: RecipeMeta;
  started: number;
  sha: string;
  base: string;
  deps: Record<string, string>;
  logFile: string;
  output: (line: string) => void;
}

/**
 * Builds one package, whatever runs it — the one place that does: skipped when its
 * inputs hash (recipe and the files beside it, pinned sources, the base, its
 * dependencies' identities: packages/inputs.ts) matches its manifest and every output is
 * there; taken from the shared builds when they have the same inputs (first without
 * fetching, from the sources they recorded); else fetched through the source broker,
 * given its own sysroot, built by the runner (or taken from another run building the same
 * inputs), packed (every output ELF-checked in the chroot phase), published, installed,
 * and its workspace dropped. A failed build keeps its workspace and log.
 * @returns the outcome and the line its step ends with
 * @throws IgluError for a failed fetch or build (the log's tail), a pack failure, a
 *   missing dependency, or a shared build that failed
 */
export async function buildPackage(o: PipelineOptions, recipe: RecipeMeta, output: (line: string) => void): Promise<{ outcome: PackageOutcome; line: string }> {
  const b: Build = {
    recipe,
    started: Date.now(),
    sha: await recipeHash(recipe.file),
    base: `${await o.phase.base()} runner:${await runnerIdentity()}`,
    deps: o.identities.deps(recipe),
    logFile: o.paths.logFile(recipe.name),
    output,
  };
  const pins = (await o.cache.readLock()).sources;
  if (!o.rebuild(recipe.name)) {
    const current = await upToDateOutcome(o, b, pins);
    if (current) return current;
  }
  const shared = o.shared?.();
  const resolution = resolutionKey({ recipe: b.sha, base: b.base, deps: b.deps });
  if (shared && !o.rebuild(recipe.name)) {
    const recorded = await shared.resolved(resolution);
    const sources = recorded && agreedSources(recorded, pins);
    const taken = sources ? await fromStore(o, b, shared, inputsOf(b, sources), ', without fetching') : undefined;
    if (taken) return taken;
  }
  const fetched = await fetchStage(o, b, shared);
  const inputs = inputsOf(b, Object.fromEntries(fetched.sources.map((x) => [x.url, x.sha256])));
  if (shared && !o.rebuild(recipe.name)) {
    const taken = (await fromStore(o, b, shared, inputs)) ?? (await attachTo(o, b, shared, inputs));
    if (taken) return taken;
  }
  const built = await runStage(o, b, inputs, shared);
  if ('action' in built) return { outcome: built, line: outcomeLine(built, {}) };
  try {
    return await packStage(o, b, inputs, resolution, fetched, built, shared);
  } finally {
    await built.release();
  }
}

function inputsOf(b: Build, sources: Record<string, string>): string {
  return inputsHash({ recipe: b.sha, sources, base: b.base, deps: b.deps });
}

/** The outcome of a package whose manifest matches its inputs and whose outputs are all there (installed when they are not); else undefined. */
async function upToDateOutcome(
  o: PipelineOptions,
  b: Build,
  pins: Parameters<typeof upToDate>[2],
): Promise<{ outcome: PackageOutcome; line: string } | undefined> {
  const { recipe } = b;
  const old = await readManifest(o.paths.manifest(recipe.name, recipe.pkgver));
  if (!old?.inputs || !upToDate(old, b.sha, pins)) return undefined;
  if (inputsOf(b, Object.fromEntries(old.sources.map((x) => [x.url, x.sha256]))) !== old.inputs) return undefined;
  const all = await builtOutputs(o.paths, recipe, old);
  if (!all) return undefined;
  o.identities.set(recipe.name, old.inputs);
  const install = o.phase.install && !(await o.phase.installed?.(all));
  if (install) await o.hostSide(recipe.name, () => o.phase.install!(all));
  const outcome = packageEntry(recipe, { action: install ? 'installed' : 'up to date', ...files(o, b), ...fromManifests(all) });
  return { outcome, line: outcomeLine(outcome, {}) };
}

function files(o: PipelineOptions, b: Build): Pick<PackageOutcome, 'tarball' | 'log'> {
  return { tarball: o.paths.tarball(b.recipe.name, b.recipe.pkgver), log: b.logFile };
}

/** The manifests of every output of `recipe` when each was built from the same inputs as `main` and its tarball is there. */
async function builtOutputs(paths: PackagePaths, recipe: RecipeMeta, main: PackageManifest): Promise<PackageManifest[] | undefined> {
  const all: PackageManifest[] = [];
  for (const name of outputNames(recipe)) {
    const m = name === recipe.name ? main : await readManifest(paths.manifest(name, recipe.pkgver));
    if (!m || m.inputs !== main.inputs || !(await exists(paths.tarball(name, recipe.pkgver)))) return undefined;
    all.push(m);
  }
  return all;
}

/** Records and installs packages this run did not build (from the store, or another run's). */
async function taken(o: PipelineOptions, b: Build, inputs: string, manifests: PackageManifest[]): Promise<void> {
  if (o.phase.install) await o.phase.install(manifests);
  await dropWorkspace(o.paths, b.recipe.name);
  o.identities.set(b.recipe.name, inputs);
}

async function fromStore(
  o: PipelineOptions,
  b: Build,
  shared: SharedBuilds,
  inputs: string,
  how = '',
): Promise<{ outcome: PackageOutcome; line: string } | undefined> {
  const got = await o.hostSide(b.recipe.name, async () => {
    const restored = await shared.restore(inputs, b.logFile);
    if (restored) await taken(o, b, inputs, restored);
    return restored;
  });
  if (!got) return undefined;
  const outcome = packageEntry(b.recipe, { action: 'from store', ...files(o, b), ...fromManifests(got) });
  const m = got[0]!;
  return { outcome, line: outcomeLine(outcome, {}, `${how} (built ${m.build.at}${m.build.node ? ` on ${m.build.node}` : ''}; log: ${b.logFile})`) };
}

/** Follows another run that builds the same inputs, and takes its result; undefined when there is none. */
async function attachTo(o: PipelineOptions, b: Build, shared: SharedBuilds, inputs: string): Promise<{ outcome: PackageOutcome; line: string } | undefined> {
  const following = (node: string) => b.output(`another run builds it on ${node}: following its log (${b.logFile}); Ctrl-C stops following only`);
  const restore = () => o.hostSide(b.recipe.name, () => shared.restore(inputs, b.logFile));
  const attached = await shared.attach(b.recipe, inputs, b.logFile, following, restore);
  if (!attached) return undefined;
  await o.hostSide(b.recipe.name, () => taken(o, b, inputs, attached.manifests));
  const outcome = packageEntry(b.recipe, {
    action: 'attached',
    ...files(o, b),
    ...(attached.node ? { node: attached.node } : {}),
    ...fromManifests(attached.manifests),
  });
  return { outcome, line: outcomeLine(outcome, {}) };
}

async function fetchStage(o: PipelineOptions, b: Build, shared: SharedBuilds | undefined): Promise<FetchOutcome> {
  b.output('fetch (source cache)');
  const fetched = await o.hostSide(b.recipe.name, async () => {
    const got = await fetchPackage(b.recipe, b.sha, {
      paths: o.paths,
      cache: o.cache,
      offline: o.offline,
      signal: o.signal,
      limits: o.limits(b.recipe.name),
      ...(shared ? { mirror: shared.mirror } : {}),
    });
    // the sources go into the farm's store too: a manager without them takes them from there
    if (shared) await shared.publishSources(got.sources);
    return got;
  });
  if (fetched.mirrored?.length) b.output(`sources from the farm's package store: ${fetched.mirrored.length} of ${fetched.sources.length}`);
  return fetched;
}

/** The package's sysroot and the runner's build; a package another run built when that run held the claim. */
async function runStage(o: PipelineOptions, b: Build, inputs: string, shared: SharedBuilds | undefined): Promise<RunnerResult | PackageOutcome> {
  const { recipe } = b;
  const sysroot = await o.hostSide(recipe.name, () => o.phase.sysroot(recipe, b.output));
  await startBuildIn(o.paths, recipe.name);
  const job: RunnerJob = {
    recipe,
    ws: packageWorkspace(o.paths, recipe),
    sysroot,
    inputs,
    logFile: b.logFile,
    output: b.output,
    hostSide: (fn) => o.hostSide(recipe.name, fn),
    priority: o.priority(recipe.name),
    limits: o.limits(recipe.name),
    ...(o.signal ? { signal: o.signal } : {}),
  };
  const runner = o.runner();
  // a failure whose log misses a header or library that a built package has names it
  const runOnce = async () => {
    try {
      return await limited(job, (j) => runner.run(j));
    } catch (err) {
      throw await withUndeclaredHint(err, recipe, b.logFile, o.paths.outDir);
    }
  };
  const first = await runOnce();
  if (first) return first;
  // another run's build of the same inputs holds the claim: its result is this one's
  const attached = shared && (await attachTo(o, b, shared, inputs));
  if (attached) return attached.outcome;
  // the claim's holder was a leftover of a run that is gone (now removed): claim it again
  const again = await runOnce();
  if (!again) {
    throw new IgluError(`${recipe.name}: another run's job for the same inputs holds its name and ended without storing it`, {
      hint: `its log: ${b.logFile}; run again to build it here`,
    });
  }
  return again;
}

async function packStage(
  o: PipelineOptions,
  b: Build,
  inputs: string,
  resolution: string,
  fetched: FetchOutcome,
  built: RunnerResult,
  shared: SharedBuilds | undefined,
): Promise<{ outcome: PackageOutcome; line: string }> {
  const { recipe } = b;
  const runner = o.runner();
  const { outRoot, compiles, release: _release, ...job } = built;
  b.output('check and pack');
  const seconds = Math.round((Date.now() - b.started) / 100) / 10;
  const build: PackageManifest['build'] = { at: new Date(b.started).toISOString(), seconds, where: runner.where, ...(compiles ? { compiles } : {}) };
  if (job.node) build.node = job.node;
  if (job.usage) build.usage = job.usage;
  const ws = packageWorkspace(o.paths, recipe);
  const manifests = await o.hostSide(recipe.name, async () => {
    const made = await packOutputs(recipe, {
      paths: o.paths,
      outRoot,
      within: ws.dir,
      recipeSha256: b.sha,
      sources: fetched.sources,
      inputs,
      checkElf: o.phase.checkElf,
      epoch: SOURCE_DATE_EPOCH,
      build,
    });
    if (shared) await shared.publish(inputs, made, b.logFile, resolution);
    o.identities.set(recipe.name, inputs);
    if (o.phase.install) b.output(`install into ${SYSROOT}`);
    await o.phase.install?.(made);
    await dropWorkspace(o.paths, recipe.name);
    return made;
  });
  const outcome = packageEntry(recipe, { action: 'built', ...files(o, b), seconds, compiles, ...fromManifests(manifests), ...job });
  return { outcome, line: outcomeLine(outcome, { nodeOf: runner.nodeOf, refused: runner.refused }) };
}

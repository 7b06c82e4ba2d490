import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { formatCounts, type countCompiles } from '../farm/distcc-log.js';
import { refusedSuffix, type RefusedTask } from '../farm/verify.js';
import { IgluError } from '../errors.js';
import { fetchPackage, phaseFailed, startBuildIn } from '../packages/fetch.js';
import { agreedSources, inputsHash, resolutionKey } from '../packages/inputs.js';
import { newestManifest, readManifest, upToDate, type CompileCounts, type PackageManifest } from '../packages/manifest.js';
import { PackagePaths } from '../layout/package-paths.js';
import { compileLogEnv, dropWorkspace, packageWorkspace, readCompileCounts, workspaceBinds, workspaceEnv, type PackageWorkspace } from '../packages/workspace.js';
import { outputNames, packOutputs } from '../packages/outputs.js';
import { recipeHash } from '../packages/recipe-hash.js';
import type { Step } from '../pipeline/steps.js';
import { planBuild, type Plan } from '../recipes/plan.js';
import type { RecipeMeta } from '../recipes/read.js';
import { SourceCache } from '../sources/cache.js';
import { abortable } from '../util/abort.js';
import { exists } from '../util/exists.js';
import type { Workdir } from '../layout/workdir.js';
import { installTarball } from './install.js';
import type { Bind } from './mounts.js';
import { ChrootPaths } from '../layout/chroot-paths.js';
import { chrootEnv, RUNNER_BIND } from './build-env.js';
import { toolchainPackages } from './prepare.js';
import { runInRoot, type RootCommand } from './run.js';
import { readState, updateState } from './state.js';
import { makePackageSysroot, packageSysrootDir, sysrootPackages } from './sysroot.js';
import type { SpreadFarm } from '../spread/farm.js';
import { publishToStore } from '../store/package-transfer.js';
import { attachToJob, buildAsJob, fromStore, type SpreadBuild } from '../spread/package-job.js';
import type { JobUsage } from '../spread/job-spec.js';
import { PrioritySlots } from '../spread/slots.js';
import { buildJobs, remainingChain } from '../schedule/critical-path.js';
import { publishSources, storeMirror } from '../store/source-mirror.js';
import { RUNNER_IN, SOURCE_DATE_EPOCH, SYSROOT } from '../layout/in-root.js';

export { TARGET_BIN } from '../layout/in-root.js';

/** Where a chroot command runs: on this host, or in a container on the farm's overlay (--farm). */
export interface RootRunner {
  /** "local", or "farm" with the distcc settings the build gets. */
  mode: 'local' | 'farm';
  /** Extra environment for the build (DISTCC_HOSTS, PATH with /usr/lib/distcc). */
  env: Record<string, string>;
  /** -j for builds. */
  jobs: number;
  run(cmd: RootCommand): Promise<number>;
  /** Counts this build's compile jobs from its distcc log (farm mode). */
  counts?: (distccLog: string, wrapperLog: string) => ReturnType<typeof countCompiles>;
  /** Node names by task address, for the progress line. */
  nodeOf?: (ip: string) => string | undefined;
  /** Farm tasks left out: their compilers did not make the build container's objects (farm/verify.ts). */
  refused?: RefusedTask[];
  /** Shows the farm's use while a build runs (farm/use.ts: watchFarmUse); dispose to stop. */
  watchUse?: (show: (line: string) => void) => AsyncDisposable;
}

/** Names the chroot phase does not build: chroot.base's and the toolchain phase's packages. Pure. */
export function providedNames(config: Config): string[] {
  return [...new Set([...config.chroot.base, ...config.toolchain.packages])];
}

/** The runner that enters the build root on this host (runInRoot), -j the host's CPUs. */
export function localRunner(paths: ChrootPaths): RootRunner & AsyncDisposable {
  return { mode: 'local', env: {}, jobs: availableParallelism(), run: (cmd) => runInRoot(paths, cmd), async [Symbol.asyncDispose]() {} };
}

/** One package of `iglu chroot build` (its --json shape). */
export interface ChrootPackage {
  name: string;
  version: string;
  /**
   * failed: its build failed (see log); blocked: a package it needs failed or was blocked
   * (--keep-going, or any failure of a spread build); from store: the farm's package store
   * had a build of the same inputs (--spread); attached: another run was building the
   * same inputs on the farm, and this one followed its log and took its result.
   */
  action: 'built' | 'up to date' | 'installed' | 'from store' | 'attached' | 'failed' | 'blocked';
  /** failed: the error; blocked: which packages it waited for. */
  error?: string;
  blockedBy?: string[];
  tarball: string;
  log: string;
  seconds: number;
  binaries: NonNullable<PackageManifest['binaries']>;
  compiles: CompileCounts | null;
  /** The subpackages the build made (ext, subpkgs), each its own tarball. */
  subpackages: string[];
  /** --spread: the swarm node its job ran on, when the job's task ran (ISO times), tries, and what it used. */
  node?: string;
  startedAt?: string;
  endedAt?: string;
  attempts?: number;
  usage?: JobUsage;
}

/** A ChrootPackage for `recipe` with nothing built yet, then `fields`. Pure. */
function packageEntry(recipe: RecipeMeta, fields: Partial<ChrootPackage> & Pick<ChrootPackage, 'action'>): ChrootPackage {
  return { name: recipe.name, version: `${recipe.pkgver}-${recipe.pkgrel}`, tarball: '', log: '', seconds: 0, binaries: [], compiles: null, subpackages: [], ...fields };
}

/**
 * The error a keep-going build ends with when packages failed: how many, which, how many
 * were blocked, and the failed packages' logs as the hint; undefined when none failed. Pure.
 */
export function keepGoingFailure(packages: ChrootPackage[]): IgluError | undefined {
  const failed = packages.filter((p) => p.action === 'failed');
  if (!failed.length) return undefined;
  const blocked = packages.filter((p) => p.action === 'blocked');
  return new IgluError(`${failed.length} package${failed.length === 1 ? '' : 's'} failed (${failed.map((p) => p.name).join(', ')})${blocked.length ? `; ${blocked.length} blocked (${blocked.map((p) => p.name).join(', ')})` : ''}`, { hint: `the logs: ${failed.map((p) => p.log).join(' ')}` });
}

/** What the chroot build steps share. */
export interface ChrootBuildState {
  plan?: Plan;
  packages: ChrootPackage[];
}

/** Inputs of `iglu chroot build`. */
export interface ChrootBuildOptions {
  config: Config;
  workdir: Workdir;
  recipes: RecipeMeta[];
  /** Packages asked for (empty: every recipe). */
  packages: string[];
  offline: boolean;
  rebuild: boolean;
  /** A failed package does not stop those that do not need it (Alpine buildrepo's -k). */
  keepGoing?: boolean;
  /** Where packages build; asked for when the first one builds (in `iglu build`, after prepare). */
  runner: () => RootRunner;
  /**
   * --spread: each package builds as a swarm job on the farm, as many at a time as it has
   * room for, and comes from (goes into) its package store; asked for when the first one
   * builds.
   */
  spread?: () => SpreadFarm;
  signal?: AbortSignal;
}

/**
 * The chroot phase's build as steps (pipeline/steps.ts), one per package in `iglu chroot plan` order
 * (toolchain packages and chroot.base count as provided). Per package: skipped when its
 * inputs hash (recipe, pinned sources, base, dependencies' identities) matches its
 * manifest; else fetched on the host through the source cache, built and packaged by the
 * package runner in the build root (runInRoot: own namespaces, no network, no mount
 * left) with the tree seen through the package's workspace (packages/workspace.ts) and
 * its own sysroot at /sysroot (the toolchain and the packages it declares, nothing else:
 * chroot/sysroot.ts); its packages — the main one and each subpackage — are ELF-checked
 * to be musl's, packed, and installed into the build root's /sysroot (what `chroot
 * enter` shows). The workspace is dropped after a good build and kept after a failure. With `keepGoing`, a failed package is recorded
 * (state "failed") and the packages needing it are skipped as "blocked".
 * The caller holds the chroot lock and has prepared the root.
 * @throws IgluError for an unknown package, a missing dependency or cycle (plan, every
 *   problem listed), a failed phase (log tail; earlier packages stay built and
 *   installed; without keepGoing), a pack failure (nothing half-written kept), a binary
 *   linked against glibc
 */
export async function chrootBuildSteps(o: ChrootBuildOptions, state: ChrootBuildState): Promise<Step<ChrootBuildState>[]> {
  const paths = new ChrootPaths(o.workdir);
  const pkgPaths = new PackagePaths(o.workdir);
  const cache = SourceCache.of(o.workdir, o.config.sources);
  const provided = providedNames(o.config);
  const plan = planBuild(o.recipes, o.packages, provided);
  state.plan = plan;
  const byName = new Map(o.recipes.map((r) => [r.name, r]));
  const provider = new Map<string, string>();
  for (const r of o.recipes) for (const n of [r.name, ...r.provides]) if (!provider.has(n) || n === r.name) provider.set(n, r.name);
  /** pkgname → identity, for dependents. */
  const identity = new Map<string, string>();
  // read when the first package runs: in `iglu build`, prepare runs after these steps are made
  let baseId: string | undefined;
  /** The toolchain phase's package tarballs, the start of every build's sysroot. */
  const toolchainTarballs: string[] = [];
  const start = async (): Promise<string> => {
    if (baseId) return baseId;
    const initial = await readState(paths.state);
    if (!initial.base) throw new IgluError('the build root is not prepared', { hint: 'run iglu chroot prepare first' });
    for (const [name, inst] of Object.entries(initial.installed)) if (!identity.has(name)) identity.set(name, inst.identity);
    toolchainTarballs.push(...(await toolchainPackages(pkgPaths, o.config.toolchain.packages)).map((t) => t.tarball));
    return (baseId = initial.base.id);
  };
  /** Names a build's sysroot never gets as packages: the base's, the toolchain's, and those no recipe provides (GNU tools of the build environment). */
  const notPackages = (n: string) => provided.includes(n) || !provider.has(n);
  /** pkgname → why it did not build (failed, or blocked by these), for --keep-going. */
  const notBuilt = new Map<string, string[]>();
  const spread = Boolean(o.spread);
  /** --spread: each package's end (built, failed or blocked), which its dependents wait for. */
  const ended = new Map(plan.order.map((n) => [n, deferred()]));
  /** --spread: host-side work (fetch, sysroot and bundle, pack, install) one package at a time. */
  const host = new PrioritySlots(1);
  /** --spread: the longest remaining chain of recorded build times, the slots' priority. */
  const priority = spread ? await chainPriorities() : new Map<string, number>();
  /** --spread: what the packages share on the farm, made by spreadBuild() when the first one needs it. */
  let shared: SpreadBuild | undefined;
  /** --spread without --keep-going: the first failure; nothing new starts after it. */
  let firstFailure: string | undefined;
  return plan.order.map((name) => {
    const recipe = byName.get(name)!;
    const needs = [...new Set([...recipe.deps, ...recipe.mkdeps].map((d) => provider.get(d) ?? d))].filter((d) => d !== name);
    const blockedBy = (s: ChrootBuildState): string | false => {
      const blockers = needs.filter((d) => notBuilt.has(d)).sort();
      if (!blockers.length && !(spread && firstFailure && !o.keepGoing)) return false;
      const by = blockers.length ? blockers : [firstFailure!];
      notBuilt.set(name, by);
      s.packages.push(packageEntry(recipe, { action: 'blocked', blockedBy: by }));
      return `blocked by ${by.join(', ')}`;
    };
    return {
      title: `${name} ${recipe.pkgver}`,
      keepGoing: Boolean(o.keepGoing) || spread,
      ...(spread ? { group: 'build the packages over the farm (--spread)' } : { skip: blockedBy }),
      run: async (s, output) => {
        try {
          if (spread) {
            const waits = needs.filter((d) => ended.has(d));
            if (waits.length) output(`waiting for ${waits.join(', ')}`);
            await abortable(Promise.all(waits.map((d) => ended.get(d)!.promise)), o.signal, `chroot build of ${name}`);
            const blocked = blockedBy(s);
            if (blocked) return blocked;
          }
          return await abortable(buildOne(recipe, s, output), o.signal, `chroot build of ${name}`);
        } catch (err) {
          if ((o.keepGoing || spread) && !o.signal?.aborted) {
            notBuilt.set(name, []);
            firstFailure ??= name;
            s.packages.push(packageEntry(recipe, { action: 'failed', error: err instanceof Error ? err.message.split('\n')[0]! : String(err), log: pkgPaths.logFile(name) }));
          }
          throw err;
        } finally {
          ended.get(name)?.resolve();
        }
      },
    };
  });

  /** Priorities for the farm's slots: remainingChain over the plan, times from the newest manifests (build.seconds). */
  async function chainPriorities(): Promise<Map<string, number>> {
    const recorded = new Map<string, number>();
    for (const n of plan.order) {
      const m = await newestManifest(pkgPaths.outDir, n, 'chroot');
      if (m) recorded.set(n, m.build.seconds);
    }
    return remainingChain(buildJobs(plan.order.map((n) => byName.get(n)!), recorded));
  }

  function depIdentities(recipe: RecipeMeta): Record<string, string> {
    const deps: Record<string, string> = {};
    for (const dep of new Set([...recipe.deps, ...recipe.mkdeps])) {
      const p = provider.get(dep) ?? dep;
      if (p === recipe.name) continue;
      deps[dep] = identity.get(p) ?? (provided.includes(dep) ? `base:${dep}` : `build-env:${dep}`);
    }
    return deps;
  }

  async function buildOne(recipe: RecipeMeta, s: ChrootBuildState, output: (line: string) => void): Promise<string> {
    const started = Date.now();
    const base = await start();
    const tarball = pkgPaths.tarball(recipe.name, recipe.pkgver);
    const manifestFile = pkgPaths.manifest(recipe.name, recipe.pkgver);
    const logFile = pkgPaths.logFile(recipe.name);
    const sha = await recipeHash(recipe.file);
    const deps = depIdentities(recipe);
    const result = packageEntry(recipe, { action: 'up to date', tarball, log: logFile });
    const old = await readManifest(manifestFile);
    const pins = (await cache.readLock()).sources;
    if (!o.rebuild && old?.inputs && upToDate(old, sha, pins)) {
      const expected = inputsHash({ recipe: sha, sources: Object.fromEntries(old.sources.map((x) => [x.url, x.sha256])), base, deps });
      const all = expected === old.inputs ? await builtOutputs(recipe, old) : undefined;
      if (all) {
        identity.set(recipe.name, old.inputs);
        const installed = (await readState(paths.state)).installed;
        if (all.some((m) => installed[m.name]?.tarballSha256 !== m.tarball.sha256)) {
          await hostSide(recipe.name, () => install(all));
          result.action = 'installed';
        }
        s.packages.push({ ...result, binaries: all.flatMap((m) => m.binaries ?? []), subpackages: all.slice(1).map((m) => m.name) });
        return result.action === 'installed' ? `up to date; installed into ${SYSROOT}` : 'up to date';
      }
    }
    const sb = spreadBuild();
    const resolution = resolutionKey({ recipe: sha, base, deps });
    /** Records a package this run did not build: the store had it, or another run's job built it. */
    const taken = (action: 'from store' | 'attached', inputs: string, all: PackageManifest[], node?: string): void => {
      identity.set(recipe.name, inputs);
      s.packages.push({ ...result, action, ...(node ? { node } : {}), binaries: all.flatMap((m) => m.binaries ?? []), subpackages: all.slice(1).map((m) => m.name) });
    };
    const builtAt = (m: PackageManifest) => `built ${m.build.at}${m.build.node ? ` on ${m.build.node}` : ''}; log: ${logFile}`;
    if (sb && !o.rebuild) {
      // a build of this recipe in the store, from sources this machine pins alike: no fetch at all
      const recorded = await sb.farm.store.resolved(resolution);
      const sources = recorded && agreedSources(recorded, pins);
      const early = sources && inputsHash({ recipe: sha, sources, base, deps });
      const stored = early ? await fromStore(sb, recipe, early, logFile) : undefined;
      if (early && stored) {
        taken('from store', early, stored);
        return `from the farm's package store, without fetching (${builtAt(stored[0]!)})`;
      }
    }
    output('fetch (source cache)');
    const fetched = await hostSide(recipe.name, async () => {
      const got = await fetchPackage(recipe, sha, { paths: pkgPaths, cache, offline: o.offline, signal: o.signal, ...(sb ? { mirror: storeMirror(sb.farm.store) } : {}) });
      // the sources go into the farm's store too: a manager without them takes them from there
      if (sb) await publishSources(sb.farm.store, cache, got.sources);
      return got;
    });
    if (fetched.mirrored?.length) output(`sources from the farm's package store: ${fetched.mirrored.length} of ${fetched.sources.length}`);
    const inputs = inputsHash({ recipe: sha, sources: Object.fromEntries(fetched.sources.map((x) => [x.url, x.sha256])), base, deps });
    const following = (node: string) => output(`another run builds it on ${node}: following its log (${logFile}); Ctrl-C stops following only`);
    const attachedLine = (node: string) => `built by another run${node ? ` on ${node}` : ''}; taken from the farm's package store (log: ${logFile})`;
    if (sb && !o.rebuild) {
      const stored = await fromStore(sb, recipe, inputs, logFile);
      if (stored) {
        taken('from store', inputs, stored);
        return `from the farm's package store (${builtAt(stored[0]!)})`;
      }
      // another run builds the same inputs now: follow it and take its result
      const attached = await attachToJob(sb, recipe, inputs, logFile, following);
      if (attached) {
        taken('attached', inputs, attached.manifests, attached.node);
        return attachedLine(attached.node);
      }
    }
    const ws = packageWorkspace(pkgPaths, recipe);
    // the build's own sysroot: the toolchain and what the recipe declares, nothing else
    const needs = [...new Set([...recipe.deps, ...recipe.mkdeps])].filter((d) => d !== recipe.name && provider.get(d) !== recipe.name);
    const sysPkgs = await sysrootPackages(pkgPaths, recipe.name, needs, { has: notPackages });
    const sysroot = packageSysrootDir(pkgPaths, recipe.name);
    output(`sysroot: the toolchain${sysPkgs.length ? `, ${sysPkgs.map((m) => m.name).join(' ')}` : ''}`);
    await hostSide(recipe.name, () => makePackageSysroot(sysroot, paths.root, [...toolchainTarballs, ...sysPkgs.map((m) => pkgPaths.tarball(m.name, m.version))]));
    await startBuildIn(pkgPaths, recipe.name);
    // the job of a spread build stays until the package is stored, so a second run attaches until then
    let built = sb ? await buildAsJob(sb, recipe, inputs, ws, sysroot, logFile, output) : await buildHere(recipe, ws, sysroot, logFile, output);
    if (!built) {
      // another run's job for the same inputs took the job's name first: its result is this one's
      const attached = await attachToJob(sb!, recipe, inputs, logFile, following);
      if (attached) {
        taken('attached', inputs, attached.manifests, attached.node);
        return attachedLine(attached.node);
      }
      // the name's holder was a leftover of a run that is gone (now removed): claim it again
      built = await buildAsJob(sb!, recipe, inputs, ws, sysroot, logFile, output);
      if (!built) throw new IgluError(`${recipe.name}: another run's job for the same inputs holds its name and ended without storing it`, { hint: `its log: ${logFile}; run again to build it here` });
    }
    const { release, compiles, ...job } = built;
    let manifests: PackageManifest[];
    let seconds: number;
    try {
      output('check and pack');
      seconds = Math.round((Date.now() - started) / 100) / 10;
      manifests = await hostSide(recipe.name, async () => {
        const made = await packOutputs(recipe, {
          paths: pkgPaths, outRoot: path.join(ws.recipeDir, 'out'), within: ws.dir, recipeSha256: sha, sources: fetched.sources, inputs, checkElf: true, epoch: SOURCE_DATE_EPOCH,
          build: { at: new Date(started).toISOString(), seconds, where: 'chroot', ...(compiles ? { compiles } : {}), ...(job.node ? { node: job.node } : {}), ...(job.usage ? { usage: job.usage } : {}) },
        });
        if (sb) await publishToStore(sb.farm.store, inputs, made, pkgPaths, logFile, resolution);
        identity.set(recipe.name, inputs);
        output(`install into ${SYSROOT}`);
        await install(made);
        await dropWorkspace(pkgPaths, recipe.name);
        return made;
      });
    } finally {
      await release();
    }
    const binaries = manifests.flatMap((m) => m.binaries ?? []);
    const subpackages = manifests.slice(1).map((m) => m.name);
    s.packages.push({ ...result, action: 'built', seconds, binaries, compiles, subpackages, ...job });
    const runner = sb ? undefined : o.runner();
    const nodeOf = sb?.farm.nodeOf ?? runner?.nodeOf ?? (() => undefined);
    return `built in ${seconds} s${job.node ? ` on ${job.node}` : ''}${subpackages.length ? `; subpackages ${subpackages.join(' ')}` : ''}${binaries.length ? `; ${elfSummary(binaries)}` : ''}${compiles ? `; compiles: ${formatCounts(compiles, nodeOf)}` : ''}${refusedSuffix(runner?.refused)}`;
  }

  /**
   * Builds one package in the build root here (runInRoot, or in the --farm container):
   * the package runner's build and package phases with its workspace and sysroot.
   * @throws IgluError for a failed build (the log's tail)
   */
  async function buildHere(recipe: RecipeMeta, ws: PackageWorkspace, sysroot: string, logFile: string, output: (line: string) => void): Promise<Built> {
    const runner = o.runner();
    const farm = runner.mode === 'farm';
    const binds: Bind[] = [RUNNER_BIND, ...workspaceBinds(ws), { host: sysroot, inside: SYSROOT, readOnly: true }];
    const building = `build in the chroot${farm ? ' through distcc' : ''}, -j${runner.jobs} (log: ${logFile})`;
    output(building);
    const env = chrootEnv(runner.jobs, { ...runner.env, ...workspaceEnv(ws), ...(farm ? compileLogEnv() : {}) });
    const code = await (async () => {
      await using _use = runner.watchUse?.((line) => output(`${building}; ${line}`));
      return await runner.run({ argv: ['mksh', `${RUNNER_IN}/iglupkg.sh`, 'bp'], env, binds, output: { file: logFile }, signal: o.signal });
    })();
    if (code !== 0) throw await phaseFailed(recipe, 'build', logFile, o.signal?.aborted);
    return { compiles: farm && runner.counts ? await readCompileCounts(ws, runner.counts) : null, release: async () => {} };
  }

  /** What this build's packages share on the farm (--spread), made when the first one needs it; undefined without --spread. */
  function spreadBuild(): SpreadBuild | undefined {
    if (!o.spread) return undefined;
    return (shared ??= { farm: o.spread(), paths: pkgPaths, hostSide, priority: (n) => priority.get(n) ?? 0, install, signal: o.signal });
  }

  /** Host-side work of a package: one at a time in a spread build (fetch and the build root's state are shared), at once otherwise. */
  function hostSide<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return spread ? host.with(name, priority.get(name) ?? 0, fn, o.signal) : fn();
  }

  /**
   * The manifests of every output of `recipe` (outputNames) when each was built from the
   * same inputs as `main` and its tarball is there; undefined when one is missing.
   */
  async function builtOutputs(recipe: RecipeMeta, main: PackageManifest): Promise<PackageManifest[] | undefined> {
    const all: PackageManifest[] = [];
    for (const name of outputNames(recipe)) {
      const m = name === recipe.name ? main : await readManifest(pkgPaths.manifest(name, recipe.pkgver));
      if (!m || m.inputs !== main.inputs || !(await exists(pkgPaths.tarball(name, recipe.pkgver)))) return undefined;
      all.push(m);
    }
    return all;
  }

  /** Installs a build's packages (the main one and its subpackages) into the sysroot, recording each. */
  async function install(manifests: PackageManifest[]): Promise<void> {
    for (const m of manifests) {
      await installTarball(pkgPaths.tarball(m.name, m.version), paths.inRoot(SYSROOT));
      await updateState(paths.state, (st) => {
        st.installed[m.name] = { version: m.version, tarballSha256: m.tarball.sha256, identity: m.inputs ?? m.tarball.sha256 };
      });
    }
  }
}

/**
 * One phrase for a build's ELF files: how many are dynamic programs (with their loader),
 * shared libraries, static, e.g. "ELF: 1 dynamic (/lib/ld-musl-x86_64.so.1; needs libc.so),
 * 0 static". Pure.
 */
export function elfSummary(binaries: { static: boolean; interpreter?: string; needed?: string[]; soname?: string; shared?: boolean }[]): string {
  const dynamic = binaries.filter((b) => b.interpreter);
  const libraries = binaries.filter((b) => !b.interpreter && (b.soname || b.shared));
  const statics = binaries.filter((b) => b.static && !b.soname && !b.shared);
  const loaders = [...new Set(dynamic.map((b) => b.interpreter!))];
  const needed = [...new Set(binaries.flatMap((b) => b.needed ?? []))].sort();
  const parts = [`${dynamic.length} dynamic${loaders.length ? ` (${loaders.join(', ')})` : ''}`];
  if (libraries.length) parts.push(`${libraries.length} shared ${libraries.length === 1 ? 'library' : 'libraries'}`);
  parts.push(`${statics.length} static`);
  return `ELF: ${parts.join(', ')}${needed.length ? `; needs ${needed.join(' ')}` : ''}`;
}

/** What building one package gave: where and how (spread jobs), its compile counts, and what releases its job. */
type Built = Pick<ChrootPackage, 'node' | 'startedAt' | 'endedAt' | 'attempts' | 'usage'> & { compiles: CompileCounts | null; release: () => Promise<void> };

/** A promise and its resolve function. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Engine } from '../docker/index.js';
import { addCounts, NO_COMPILES } from '../farm/distcc-log.js';
import { farmForBuilds } from '../farm/for-builds.js';
import { farmJobs } from '../farm/hosts.js';
import type { FarmStatus } from '../farm/status.js';
import { refusedReports, type RefusedReport } from '../farm/verify.js';
import { PackagePaths } from '../layout/package-paths.js';
import type { Workdir } from '../layout/workdir.js';
import type { CompileCounts } from '../packages/manifest.js';
import { Identities } from '../pipeline/identities.js';
import type { BuildPhase } from '../pipeline/package-build.js';
import { phaseSteps, type PhaseState } from '../pipeline/phase-steps.js';
import type { Step } from '../steps.js';
import { planBuild } from '../recipes/plan.js';
import { readTree, type RecipeMeta } from '../recipes/read.js';
import { recipeCacheOf } from '../recipes/read-cache.js';
import { DEFAULT_TREE } from '../recipes/default-tree.js';
import { afterEarlier } from '../recipes/implicit-deps.js';
import { withOwnRecipes } from '../recipes/own-recipes.js';
import { ToolchainClientRunner } from '../runners/toolchain-client.js';
import { limitsFor } from '../sandbox/limits.js';
import { SourceCache } from '../sources/cache.js';
import { compilePlace, hereHosts, type CompilePlace } from '../farm/here.js';

/** One package of `iglu toolchain build` (its --json shape). */
export interface ToolchainPackage {
  name: string;
  version: string;
  action: 'built' | 'up to date' | 'failed' | 'blocked';
  /** failed: the error; blocked: which packages it waited for (--keep-going). */
  error?: string;
  tarball: string;
  manifest: string;
  log: string;
  seconds: number;
  compiles: CompileCounts | null;
}

/** The result of `iglu toolchain build` (--json). */
export interface ToolchainResult {
  farm: string;
  /** "farm"; "here" when every task runs on this machine (farm.oneNode: here); "local" with --local. */
  mode: 'farm' | 'here' | 'local';
  distccHosts: string;
  jobs: number;
  packages: ToolchainPackage[];
  /** Sum over the packages built now. */
  compiles: CompileCounts;
  /** Tasks left out of this build: their compilers did not make the client's objects (farm/verify.ts). */
  refused: RefusedReport[];
}

/** What the toolchain steps share: the farm, its image, and the runner (dispose it: the client container). */
export interface ToolchainState extends PhaseState {
  farm?: FarmStatus;
  image?: string;
  order?: RecipeMeta[];
  client?: ToolchainClientRunner;
  /** Where the builds compile (farm/here.ts). */
  place?: CompilePlace;
}

/** Inputs of the toolchain phase. */
export interface ToolchainOptions {
  engine: Engine;
  config: Config;
  workdir: Workdir;
  tree: string;
  /** Packages to build (default: config.toolchain.packages). */
  packages: string[];
  offline: boolean;
  /** Compile in the client container without distcc (the baseline of bench/farm-compile). */
  local: boolean;
  /** Build even when an up-to-date package exists: the packages named, or all when none is. */
  rebuild: boolean;
  /** Go on past a failed package: its dependents are blocked, the others built (--keep-going). */
  keepGoing?: boolean;
  signal?: AbortSignal;
}

/**
 * The toolchain phase as steps (pipeline/steps.ts): check the farm, then one step per
 * package in plan order through the package pipeline (pipeline/package-build.ts) with
 * the toolchain phase's parts: the farm image as every build's base, a sysroot of the
 * packages built before it that are the toolchain or that it declares (musl's headers for
 * compiler-rt, compiler-rt for musl), and the client container as the runner
 * (runners/toolchain-client.ts). `bad` GNU tools come from the farm image. Each
 * toolchain package needs those listed before it (recipes/implicit-deps.ts: naming musl
 * alone builds, or finds up to date, musl's headers and compiler-rt first), and iglu's own
 * recipes stand in for toolchain packages the tree lacks (recipes/own-recipes.ts). The caller
 * disposes `state.client` in a finally.
 * @throws IgluError for no farm, a farm without running tasks, an unknown package, and
 *   what the pipeline throws (a source missing offline, a failed build with its log tail)
 */
export async function toolchainSteps(o: ToolchainOptions, state: ToolchainState): Promise<Step<ToolchainState>[]> {
  const paths = new PackagePaths(o.workdir);
  const recipes = await toolchainRecipes(o);
  const plan = planBuild(recipes, o.packages.length ? o.packages : o.config.toolchain.packages, [], { badFromBuildEnv: true });
  const byName = new Map(recipes.map((r) => [r.name, r]));
  state.order = plan.order.map((n) => byName.get(n)!);
  const identities = new Identities(recipes, []);
  const runner = () => {
    if (!state.client) throw new Error('the toolchain runner is made by the farm step');
    return state.client;
  };
  const packages = await phaseSteps(
    {
      plan,
      recipes,
      pipeline: {
        paths,
        cache: SourceCache.of(o.workdir, o.config.sources),
        offline: o.offline,
        // --rebuild rebuilds what was named (all when nothing was); deps pulled in stay if up to date
        rebuild: (name) => o.rebuild && (o.packages.length === 0 || o.packages.includes(name)),
        runner,
        phase: toolchainPhase(o.config, state),
        limits: (name) => limitsFor(o.config.limits, name),
        identities,
        ...(o.signal ? { signal: o.signal } : {}),
      },
      keepGoing: Boolean(o.keepGoing),
      concurrent: false,
      phase: 'toolchain',
    },
    state,
  );
  return [farmStep(o), ...packages];
}

/** The tree's recipes, with iglu's own for the toolchain packages it lacks, each toolchain package after those before it (recipes/own-recipes.ts). */
async function toolchainRecipes(o: ToolchainOptions): Promise<RecipeMeta[]> {
  const cache = recipeCacheOf(o.workdir);
  const user = await readTree(o.tree, undefined, cache);
  const toolchain = o.config.toolchain.packages;
  const own = path.resolve(o.tree) === DEFAULT_TREE ? [] : await readTree(DEFAULT_TREE, undefined, cache);
  return afterEarlier(withOwnRecipes(user, own, toolchain), toolchain);
}

/** The first step: the farm for builds, and the client runner on it. */
function farmStep(o: ToolchainOptions): Step<ToolchainState> {
  return {
    title: `farm ${o.config.farm.name}`,
    run: async (s) => {
      const farm = await farmForBuilds(o.engine, o.config.farm, { tasksOptional: o.local, noFarmHint: 'start it with iglu farm up' });
      s.farm = farm.status;
      s.image = farm.image;
      await s.client?.[Symbol.asyncDispose]();
      s.place = compilePlace(o.config.farm, farm.status, availableParallelism());
      s.client = new ToolchainClientRunner({ engine: o.engine, config: o.config, farm: farm.status, image: farm.image, local: o.local, place: s.place });
      if (o.local) return 'compiling locally in the client container (--local)';
      if (s.place.here)
        return `every task runs on this machine: compiling here, ${s.place.cpus} at once (farm.oneNode: here; distcc would only add its own cost)`;
      return `${s.farm.hosts.length} tasks, ${s.farm.slots} slots: DISTCC_HOSTS="${s.farm.distccHosts}"`;
    },
  };
}

/**
 * The toolchain phase's part of the pipeline: the farm image is every build's base (its
 * compilers make the objects), and a build's sysroot holds, of the packages built before
 * it in this run, the toolchain ones and those it declares. Iglunix's own musl declares no
 * compiler-rt. Nothing is installed anywhere: each build gets its own sysroot.
 */
function toolchainPhase(config: Config, state: ToolchainState): BuildPhase {
  return {
    base: () => Promise.resolve(`image:${state.image ?? ''}`),
    checkElf: false,
    sysroot(recipe) {
      const wants = new Set([...config.toolchain.packages, ...recipe.deps, ...recipe.mkdeps]);
      const earlier = state.packages.filter((p) => wants.has(p.name));
      return Promise.resolve({ tarballs: earlier.map((p) => p.tarball), names: earlier.map((p) => `${p.name} ${p.version}`) });
    },
  };
}

/** The result of the toolchain phase: its packages, and the sum of the compile counts of those built now. */
export function toolchainResult(o: ToolchainOptions, s: ToolchainState): ToolchainResult {
  const paths = new PackagePaths(o.workdir);
  const pkgver = new Map((s.order ?? []).map((r) => [r.name, r.pkgver]));
  const packages: ToolchainPackage[] = s.packages.map((p) => ({
    name: p.name,
    version: p.version,
    action: p.action === 'built' || p.action === 'failed' || p.action === 'blocked' ? p.action : 'up to date',
    ...(p.error ? { error: p.error } : {}),
    tarball: p.tarball,
    manifest: paths.manifest(p.name, pkgver.get(p.name) ?? ''),
    log: p.log,
    seconds: p.seconds,
    compiles: p.compiles,
  }));
  return {
    farm: o.config.farm.name,
    mode: o.local ? 'local' : s.place?.here ? 'here' : 'farm',
    distccHosts: o.local ? '' : s.place?.here ? hereHosts(s.place.cpus) : (s.client?.farm.distccHosts ?? s.farm?.distccHosts ?? ''),
    jobs: s.client?.jobs ?? (o.local ? 2 : farmJobs(s.farm?.slots ?? 0)),
    packages,
    compiles: packages.reduce<CompileCounts>((sum, p) => (p.compiles ? addCounts(sum, p.compiles) : sum), NO_COMPILES),
    refused: refusedReports(s.client?.refused),
  };
}

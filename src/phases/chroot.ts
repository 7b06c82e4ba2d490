import type { Config } from '../config/schema.js';
import { IgluError } from '../errors.js';
import { SYSROOT } from '../layout/in-root.js';
import { ChrootPaths } from '../layout/chroot-paths.js';
import { PackagePaths } from '../layout/package-paths.js';
import type { Workdir } from '../layout/workdir.js';
import type { PackageManifest } from '../packages/manifest.js';
import { Identities } from '../pipeline/identities.js';
import type { PackageOutcome } from '../pipeline/outcome.js';
import type { BuildPhase, PipelineOptions } from '../pipeline/package-build.js';
import { phaseSteps, type PhaseState } from '../pipeline/phase-steps.js';
import { farmBuilds } from '../pipeline/shared-builds.js';
import type { Step } from '../steps.js';
import { afterEarlier, dependedOnFirst, withMkdeps } from '../recipes/implicit-deps.js';
import { planBuild } from '../recipes/plan.js';
import type { RecipeMeta } from '../recipes/read.js';
import type { BuildRootRunner } from '../runners/build-root.js';
import { swarmJobRunner } from '../runners/swarm-job.js';
import { limitsFor } from '../sandbox/limits.js';
import { SourceCache } from '../sources/cache.js';
import type { SpreadFarm } from '../spread/farm.js';
import { installTarball, kernelHeaderDirs } from '../chroot/install.js';
import { toolchainPackages } from '../chroot/prepare.js';
import { readState, updateState } from '../chroot/state.js';
import { makePackageSysroot, packageSysrootDir, sysrootPackages } from '../chroot/sysroot.js';

export { TARGET_BIN } from '../layout/in-root.js';
export { elfSummary, keepGoingFailure } from '../pipeline/outcome.js';

/** One package of `iglu chroot build` (its --json shape). */
export type ChrootPackage = PackageOutcome;

/** What the chroot build steps share. */
export type ChrootBuildState = PhaseState;

/** Names the chroot phase does not build: chroot.base's, chroot.buildEnv's and the toolchain phase's packages. Pure. */
export function providedNames(config: Config): string[] {
  return [...new Set([...config.chroot.base, ...Object.keys(config.chroot.buildEnv), ...config.toolchain.packages])];
}

/**
 * The recipes as the chroot phase plans them: with chroot.mkdeps' names added to the
 * recipes they key, and with chroot.sysroot "planned" each one after, and with a sysroot
 * of, every package the plan of `packages` builds before it (recipes/implicit-deps.ts). Pure.
 * @throws IgluError for a chroot.mkdeps key no recipe has, and for the plan's problems
 *   (planBuild) in planned mode
 */
export function asPlanned(config: Config, recipes: RecipeMeta[], packages: string[]): RecipeMeta[] {
  const amended = withMkdeps(recipes, config.chroot.mkdeps);
  if (config.chroot.sysroot !== 'planned') return amended;
  return afterEarlier(amended, dependedOnFirst(amended, planBuild(amended, packages, providedNames(config)).order));
}

/**
 * Where each provided name of a plan comes from, for `chroot plan`: the build
 * environment (chroot.buildEnv, with its Debian package) or the base sysroot and the
 * toolchain phase. Pure.
 * @param fromBase the plan's provided names (analysePlan's fromBase)
 */
export function providedFrom(config: Config, fromBase: string[]): { fromBuildEnv: { name: string; debian: string }[]; fromBase: string[] } {
  const env = config.chroot.buildEnv;
  return {
    fromBuildEnv: fromBase.filter((n) => Object.hasOwn(env, n)).map((name) => ({ name, debian: env[name]! })),
    fromBase: fromBase.filter((n) => !Object.hasOwn(env, n)),
  };
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
  runner: () => BuildRootRunner;
  /**
   * --spread: each package builds as a swarm job on the farm, as many at a time as it has
   * room for, and comes from (goes into) its package store; asked for when the first one
   * builds.
   */
  spread?: () => SpreadFarm;
  signal?: AbortSignal;
}

/**
 * The chroot phase's build as steps (pipeline/steps.ts), one per package in `iglu chroot
 * plan` order (toolchain packages and chroot.base count as provided), each through the
 * package pipeline (pipeline/package-build.ts) with the chroot phase's parts: the build
 * root's base as every build's base, a sysroot of the toolchain and the packages it
 * declares (chroot/sysroot.ts; with chroot.sysroot "planned", also all the plan builds
 * before it: recipes/implicit-deps.ts), every ELF file checked to be musl's, and its packages
 * installed into the build root's /sysroot (what `chroot enter` shows). The runner is the
 * build root here or on the farm (`runner`), or a swarm job per package (`spread`, with
 * the farm's package store shared). With `keepGoing`, a failed package is recorded and
 * the packages needing it are skipped as "blocked". The caller holds the chroot lock and
 * has prepared the root.
 * @throws IgluError for an unknown package, a missing dependency or cycle (plan, every
 *   problem listed), and what the pipeline throws (without keepGoing)
 */
export async function chrootBuildSteps(o: ChrootBuildOptions, state: ChrootBuildState): Promise<Step<ChrootBuildState>[]> {
  const paths = new ChrootPaths(o.workdir);
  const pkgPaths = new PackagePaths(o.workdir);
  const provided = providedNames(o.config);
  const recipes = asPlanned(o.config, o.recipes, o.packages);
  const plan = planBuild(recipes, o.packages, provided);
  const identities = new Identities(recipes, provided);
  const cache = SourceCache.of(o.workdir, o.config.sources);
  const pipeline: Omit<PipelineOptions, 'hostSide' | 'priority'> = {
    paths: pkgPaths,
    cache,
    offline: o.offline,
    rebuild: () => o.rebuild,
    runner: o.spread ? once(() => swarmJobRunner(o.spread!())) : o.runner,
    ...(o.spread ? { shared: once(() => farmBuilds(o.spread!(), pkgPaths, cache, o.signal)) } : {}),
    phase: chrootPhase(paths, pkgPaths, o.config, identities, o.spread ? () => o.spread!().imageId : undefined),
    limits: (name) => limitsFor(o.config.limits, name),
    identities,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  return phaseSteps({ plan, recipes, pipeline, keepGoing: Boolean(o.keepGoing), concurrent: Boolean(o.spread), phase: 'chroot' }, state);
}

/**
 * The chroot phase's part of the pipeline: the build root's base (read when the first
 * package builds: in `iglu build`, prepare runs after the steps are made), the installed
 * packages' identities, each build's own sysroot, and installing into /sysroot. When the
 * packages build as swarm jobs whose image (`jobImage`, its ID) is the build root's base,
 * their sysroots leave the kernel headers to the job, which has the same files.
 */
function chrootPhase(paths: ChrootPaths, pkgPaths: PackagePaths, config: Config, identities: Identities, jobImage?: () => string): BuildPhase {
  let start: Promise<{ base: string; toolchain: string[]; headersFromImage?: [string, string][] }> | undefined;
  const started = () =>
    (start ??= (async () => {
      const initial = await readState(paths.state);
      if (!initial.base) throw new IgluError('the build root is not prepared', { hint: 'run iglu chroot prepare first' });
      identities.seed(Object.entries(initial.installed).map(([name, inst]) => [name, inst.identity]));
      const toolchain = (await toolchainPackages(pkgPaths, config.toolchain.packages)).map((t) => t.tarball);
      const sameImage = initial.base.kind === 'image' && jobImage !== undefined && initial.base.id === jobImage();
      return { base: initial.base.id, toolchain, ...(sameImage ? { headersFromImage: await kernelHeaderDirs(paths.root) } : {}) };
    })());
  return {
    base: async () => (await started()).base,
    checkElf: true,
    async sysroot(recipe, output) {
      const sysPkgs = await sysrootPackages(pkgPaths, recipe.name, identities.sysrootNeeds(recipe), { has: (n) => !identities.isPackage(n) });
      output(`sysroot: the toolchain${sysPkgs.length ? `, ${sysPkgs.map((m) => m.name).join(' ')}` : ''}`);
      const dir = packageSysrootDir(pkgPaths, recipe.name);
      const { toolchain, headersFromImage } = await started();
      const tarballs = [...toolchain, ...sysPkgs.map((m) => pkgPaths.tarball(m.name, m.version))];
      await makePackageSysroot(dir, paths.root, tarballs, { kernelHeaders: !headersFromImage });
      return { dir, tarballs, ...(headersFromImage ? { headersFromImage } : {}) };
    },
    async install(manifests: PackageManifest[]) {
      for (const m of manifests) {
        await installTarball(pkgPaths.tarball(m.name, m.version), paths.inRoot(SYSROOT));
        await updateState(paths.state, (st) => {
          st.installed[m.name] = { version: m.version, tarballSha256: m.tarball.sha256, identity: m.inputs ?? m.tarball.sha256 };
        });
      }
    },
    async installed(manifests: PackageManifest[]) {
      const installed = (await readState(paths.state)).installed;
      return manifests.every((m) => installed[m.name]?.tarballSha256 === m.tarball.sha256);
    },
  };
}

/** `make()` on first use, the same value after. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

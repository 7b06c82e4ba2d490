import path from 'node:path';
import { bootImage, type BootResult } from '../boot/run.js';
import { chrootBuildSteps, keepGoingFailure, type ChrootBuildState } from './chroot.js';
import { openChrootRunners, type ChrootRunners } from '../runners/choose.js';
import type { ChrootPaths } from '../layout/chroot-paths.js';
import { prepareRoot, type PrepareResult } from '../chroot/prepare.js';
import type { RunContext } from '../run-context.js';
import type { RecipeMeta } from '../recipes/read.js';
import { assembleImage, type ImageResult } from '../disk/assemble.js';
import { missingOnHost } from '../doctor/checks.js';
import { IgluError } from '../errors.js';
import { addCounts, NO_COMPILES } from '../farm/distcc-log.js';
import { farmUpSteps, rollbackUp, type UpState } from '../farm/up.js';
import { buildFarmImage, type FarmImage } from '../image/build.js';
import { configuredImageRef, imageConfigOf } from '../image/inputs.js';
import type { CompileCounts } from '../packages/manifest.js';
import { nest, type Step, type StepRunner } from '../steps.js';
import type { PackageOutcome } from '../pipeline/outcome.js';
import { readTree } from '../recipes/read.js';
import { recipeCacheOf } from '../recipes/read-cache.js';
import { SourceCache } from '../sources/cache.js';
import { readSeed, seedFile, seedSources } from '../sources/seed.js';
import { toolchainResult, toolchainSteps, type ToolchainOptions, type ToolchainState } from './toolchain.js';
import { exists } from '../util/exists.js';
import type { Engine } from '../docker/index.js';

/** Options of `iglu build`. */
export interface BuildOptions {
  tree: string;
  /** Compile the chroot phase through the farm as well (chroot build --farm). */
  chrootFarm: boolean;
  /** Boot with OVMF (efi) or QEMU's direct kernel boot. */
  firmware: 'efi' | 'direct';
  /** The chroot phase spreads its packages over the farm as swarm jobs (chroot build --spread). */
  spread?: boolean;
  /** The chroot phase goes on past a failed package (chroot build --keep-going); the build then stops before the image. */
  keepGoing?: boolean;
}

/** What every step of `iglu build` shares. */
export interface BuildState {
  farmImage?: FarmImage;
  up: UpState;
  seeded?: number;
  toolchain: ToolchainState;
  prepared?: PrepareResult;
  chroot: ChrootBuildState;
  image?: ImageResult;
  boot?: BootResult;
  /** Where a step failed: the farm's own steps roll back what they made. */
  phase?: 'farm';
  /** The chroot phase's runner, opened after prepare; disposed at the end. */
  runners?: ChrootRunners;
}

/** What the steps of one `iglu build` are made from. */
interface BuildRun {
  ctx: RunContext;
  paths: ChrootPaths;
  o: BuildOptions;
  engine: Engine;
  recipes: RecipeMeta[];
  toolchain: ToolchainOptions;
}

/** The result of `iglu build` (--json). */
export interface BuildResult {
  image: { file: string; sha256: string };
  boot: { status: string; line?: string; firmware: string; accel: string; secondsToLine?: number };
  /** Compile jobs per phase: remote ones per farm host, local ones. */
  compiles: { toolchain: CompileCounts; chroot: CompileCounts | 'local' };
  packages: { name: string; version: string; phase: 'toolchain' | 'chroot'; action: string; seconds: number }[];
  seconds: number;
}

/**
 * `iglu build`: the whole job as one pipeline of steps — host tools, the farm image, farm
 * up (idempotent), sources seeded offline from Debian, the toolchain phase on the farm,
 * chroot prepare and build (one line per package), iglunix.img, and a boot under QEMU that
 * must print boot.expect. Every phase skips what is up to date, so a rerun with nothing
 * changed only checks, assembles and boots. The chroot lock is held throughout; the
 * caller wraps it in withChroot. `runSteps` shows the progress (the CLI's: listr2).
 * @throws IgluError naming the missing host tools (one apt-get line), or the first
 *   failing step's error; a failed farm up is rolled back
 */
export async function runBuild(ctx: RunContext, paths: ChrootPaths, o: BuildOptions, runSteps: StepRunner): Promise<BuildResult> {
  const started = Date.now();
  await checkHost();
  const engine = await ctx.engine();
  const toolchain: ToolchainOptions = {
    engine,
    config: ctx.config,
    workdir: ctx.workdir,
    tree: o.tree,
    packages: [],
    offline: true,
    local: false,
    rebuild: false,
    signal: ctx.signal,
  };
  const run: BuildRun = { ctx, paths, o, engine, recipes: await readTree(o.tree, undefined, recipeCacheOf(ctx.workdir)), toolchain };
  const state: BuildState = { up: {}, toolchain: { packages: [] }, chroot: { packages: [] } };
  const steps: Step<BuildState>[] = [
    farmImageStep(run),
    ...nest(farmUpSteps(engine, ctx.config.farm, ctx.signal, configuredImageRef(ctx.config)), (s: BuildState) => ((s.phase = 'farm'), s.up), 'farm: '),
    seedStep(run),
    ...nest(await toolchainSteps(toolchain, state.toolchain), (s: BuildState) => s.toolchain, 'toolchain: '),
    prepareStep(run),
    ...nest(await chrootSteps(run, state), (s: BuildState) => s.chroot, 'chroot: '),
    imageStep(run),
    bootStep(run),
  ];
  try {
    await runSteps(steps, state);
  } catch (err) {
    if (state.phase === 'farm') await rollbackUp(engine, ctx.config.farm, state.up);
    throw err;
  } finally {
    await state.toolchain.client?.[Symbol.asyncDispose]();
    await state.runners?.[Symbol.asyncDispose]();
  }
  return buildResult(run, state, started);
}

/** @throws IgluError naming what this host lacks, with one apt-get line */
async function checkHost(): Promise<void> {
  const missing = await missingOnHost();
  if (!missing.length) return;
  throw new IgluError(`missing on this host: ${missing.map((m) => `${m.what} (${m.why})`).join(', ')}`, {
    hint: `apt-get install ${[...new Set(missing.map((m) => m.pkg))].join(' ')} — or run scripts/setup.sh, which installs everything`,
  });
}

function farmImageStep({ ctx, engine }: BuildRun): Step<BuildState> {
  return {
    title: 'farm image',
    run: async (s, output) => {
      s.farmImage = await buildFarmImage(engine, ctx.workdir, imageConfigOf(ctx.config), output, ctx.signal);
      return `${s.farmImage.ref}${s.farmImage.reused ? ' (up to date)' : ' (built)'}`;
    },
  };
}

function seedStep({ ctx, o }: BuildRun): Step<BuildState> {
  return {
    title: "sources: seed the cache from Debian's source archive",
    run: async (s) => {
      s.phase = undefined;
      const file = seedFile(o.tree);
      if (!(await exists(file))) return 'the tree has no sources.seed.yaml';
      const results = await seedSources(SourceCache.of(ctx.workdir), await readSeed(file), ctx.signal);
      s.seeded = results.filter((r) => r.action === 'seeded').length;
      return `${results.length} sources, ${s.seeded} seeded now`;
    },
  };
}

/** Prepares the build root (the toolchain's client container goes first) and opens the chroot phase's runner. */
function prepareStep({ ctx, paths, o }: BuildRun): Step<BuildState> {
  return {
    title: 'chroot: prepare the build root',
    run: async (s, output) => {
      await s.toolchain.client?.[Symbol.asyncDispose]();
      s.toolchain.client = undefined;
      s.prepared = await prepareRoot(paths, { engine: ctx.engine, config: ctx.config, fresh: false }, output);
      s.runners = await openChrootRunners(ctx, paths, { farm: o.chrootFarm, spread: Boolean(o.spread), trees: [path.resolve(o.tree)] });
      const spread = s.runners.spread;
      return `${s.prepared.reused ? 'kept' : 'made'} from ${s.prepared.base.ref}${spread ? `; packages spread over ${spread.nodes.length} nodes, room for ${spread.room} jobs` : ''}`;
    },
  };
}

async function chrootSteps({ ctx, o, recipes }: BuildRun, state: BuildState): Promise<Step<ChrootBuildState>[]> {
  const opened = () => {
    if (!state.runners) throw new Error('the chroot runner is made by the prepare step');
    return state.runners;
  };
  return chrootBuildSteps(
    {
      config: ctx.config,
      workdir: ctx.workdir,
      recipes,
      packages: [],
      offline: true,
      rebuild: false,
      keepGoing: Boolean(o.keepGoing),
      runner: () => opened().runner,
      ...(o.spread ? { spread: () => opened().spread! } : {}),
      signal: ctx.signal,
    },
    state.chroot,
  );
}

function imageStep({ ctx }: BuildRun): Step<BuildState> {
  return {
    title: 'image: iglunix.img',
    run: async (s, output) => {
      // --keep-going built all it could; an image of what failed is not made
      const failure = keepGoingFailure(s.chroot.packages);
      if (failure) throw failure;
      s.image = await assembleImage({ workdir: ctx.workdir, config: ctx.config, expect: ctx.config.boot.expect, signal: ctx.signal }, output);
      return `${s.image.file}, sha256 ${s.image.sha256.slice(0, 16)}…`;
    },
  };
}

function bootStep({ ctx, o }: BuildRun): Step<BuildState> {
  return {
    title: `boot: ${o.firmware === 'efi' ? 'OVMF → ESP → EFI-stub kernel' : 'direct kernel boot'}`,
    run: async (s, output) => {
      let line = '';
      s.boot = await bootImage({
        workdir: ctx.workdir,
        config: ctx.config,
        image: s.image!.file,
        firmware: o.firmware,
        timeoutS: ctx.config.boot.timeout,
        expect: ctx.config.boot.expect,
        fail: ctx.config.boot.fail,
        interactive: false,
        signal: ctx.signal,
        live: (chunk) => {
          line += chunk;
          const lines = line.split(/\r?\n/);
          line = lines.pop() ?? '';
          const last = lines.filter((l) => l.trim()).at(-1);
          if (last) output(last.slice(0, 120));
        },
      });
      return `${s.boot.line} (${s.boot.accel}, ${s.boot.secondsToLine} s)`;
    },
  };
}

function buildResult({ o, toolchain }: BuildRun, state: BuildState, started: number): BuildResult {
  const tcResult = toolchainResult(toolchain, state.toolchain);
  const chrootCounts = state.chroot.packages.reduce<CompileCounts>((sum, p) => (p.compiles ? addCounts(sum, p.compiles) : sum), NO_COMPILES);
  const boot = state.boot!;
  const packages = (phase: 'toolchain' | 'chroot', list: PackageOutcome[]) =>
    list.map((p) => ({ name: p.name, version: p.version, phase, action: p.action, seconds: p.seconds }));
  return {
    image: { file: state.image!.file, sha256: state.image!.sha256 },
    boot: { status: boot.status, line: boot.line, firmware: boot.firmware, accel: boot.accel, secondsToLine: boot.secondsToLine },
    compiles: { toolchain: tcResult.compiles, chroot: o.chrootFarm || o.spread ? chrootCounts : 'local' },
    packages: [...packages('toolchain', state.toolchain.packages), ...packages('chroot', state.chroot.packages)],
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

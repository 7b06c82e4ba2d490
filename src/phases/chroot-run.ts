import path from 'node:path';
import type { ChrootPaths } from '../layout/chroot-paths.js';
import { refusedReports, type RefusedReport } from '../farm/verify.js';
import type { StepRunner } from '../steps.js';
import type { RecipeMeta } from '../recipes/read.js';
import type { RunContext } from '../run-context.js';
import { openChrootRunners } from '../runners/choose.js';
import { chrootBuildSteps, type ChrootBuildState, type ChrootPackage } from './chroot.js';
import { prepareRoot, type PrepareResult } from '../chroot/prepare.js';

/** What `iglu chroot build` asks for. */
export interface ChrootBuildRequest {
  tree: string;
  recipes: RecipeMeta[];
  /** Packages asked for (empty: every recipe). */
  packages: string[];
  offline: boolean;
  rebuild: boolean;
  keepGoing: boolean;
  /** --farm: the build root in a container on the farm, compiling through distcc. */
  farm: boolean;
  /** --spread: every package a swarm job. */
  spread: boolean;
  /** --base: the build root from this tarball. */
  base?: string;
}

/** The result of `iglu chroot build` (--json). */
export interface ChrootBuildResult {
  mode: 'local' | 'farm' | 'spread';
  /** Every package of the plan, in plan order. */
  packages: ChrootPackage[];
  order: string[];
  /** Farm tasks left out (--farm): their compilers did not make the build container's objects. */
  refused: RefusedReport[];
  spread?: { nodes: string[]; room: number; store: string };
}

/**
 * `iglu chroot build`: prepares the build root (kept when unchanged), opens the runner
 * (openChrootRunners) and builds the plan's packages through the package pipeline
 * (chrootBuildSteps), its progress shown by `runSteps`. The caller holds the chroot lock
 * (withChroot). A keep-going build's failures are in the result, not thrown.
 * @throws IgluError from prepare, the runner, the plan or a package's build
 */
export async function runChrootBuild(ctx: RunContext, paths: ChrootPaths, o: ChrootBuildRequest, runSteps: StepRunner): Promise<ChrootBuildResult> {
  await prepareStep(ctx, paths, { base: o.base }, runSteps);
  await using runners = await openChrootRunners(ctx, paths, { farm: o.farm, spread: o.spread, trees: [path.resolve(o.tree)] });
  const state: ChrootBuildState = { packages: [] };
  const steps = await chrootBuildSteps(
    {
      config: ctx.config,
      workdir: ctx.workdir,
      recipes: o.recipes,
      packages: o.packages,
      offline: o.offline,
      rebuild: o.rebuild,
      keepGoing: o.keepGoing,
      runner: () => runners.runner,
      ...(runners.spread ? { spread: () => runners.spread! } : {}),
      signal: ctx.signal,
    },
    state,
  );
  await runSteps(steps, state);
  const order = state.plan?.order ?? [];
  const { spread } = runners;
  return {
    mode: runners.mode,
    packages: [...state.packages].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name)),
    order,
    refused: refusedReports(runners.runner.refused),
    ...(spread ? { spread: { nodes: spread.nodes, room: spread.room, store: spread.url } } : {}),
  };
}

/** `chroot prepare` as one step: the build root made or kept. */
export async function prepareStep(
  ctx: RunContext,
  paths: ChrootPaths,
  flags: { base?: string; fresh?: boolean },
  runSteps: StepRunner,
): Promise<PrepareResult> {
  const state: { result?: PrepareResult } = {};
  await runSteps(
    [
      {
        title: 'prepare the build root',
        run: async (s, output) => {
          s.result = await prepareRoot(paths, { engine: ctx.engine, config: ctx.config, baseTarball: flags.base, fresh: Boolean(flags.fresh) }, output);
          const installed = s.result.installed.length ? `; installed ${s.result.installed.join(' ')}` : '';
          return `${s.result.reused ? 'kept' : 'made'} from ${s.result.base.kind} ${s.result.base.ref}${installed}`;
        },
      },
    ],
    state,
  );
  return state.result!;
}

import { IgluError } from '../errors.js';
import { newestManifest } from '../packages/manifest.js';
import type { Plan } from '../recipes/plan.js';
import type { RecipeMeta } from '../recipes/read.js';
import { buildJobs, remainingChain } from '../schedule/critical-path.js';
import { PrioritySlots } from '../spread/slots.js';
import { abortable } from '../util/abort.js';
import { packageEntry, type PackageOutcome } from './outcome.js';
import { buildPackage, type PipelineOptions } from './package-build.js';
import type { Step } from '../steps.js';

/** What the steps of a phase's package builds share. */
export interface PhaseState {
  plan?: Plan;
  packages: PackageOutcome[];
}

/** How a phase's packages are built. */
export interface PhaseStepsOptions {
  plan: Plan;
  recipes: RecipeMeta[];
  /** The pipeline, but for the host-side slot and priority, which the steps give. */
  pipeline: Omit<PipelineOptions, 'hostSide' | 'priority'>;
  /** A failed package does not stop those that do not need it: its dependents are blocked. */
  keepGoing: boolean;
  /**
   * Packages build at once, each as soon as what it needs has ended (a spread build): one
   * group of steps, host-side work one package at a time, the longest remaining chain
   * first; a failure blocks what starts after it unless `keepGoing`.
   */
  concurrent: boolean;
  /** Which phase, for messages and the recorded build times. */
  phase: 'toolchain' | 'chroot';
}

/** A promise and its resolve function. */
interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

/**
 * One step per package of `o.plan`, each building it through the package pipeline
 * (buildPackage) and recording its outcome in `state.packages` — also a failed or
 * blocked one when the build keeps going.
 */
export async function phaseSteps(o: PhaseStepsOptions, state: PhaseState): Promise<Step<PhaseState>[]> {
  state.plan = o.plan;
  const byName = new Map(o.recipes.map((r) => [r.name, r]));
  const priority = o.concurrent ? await chainPriorities(o, byName) : new Map<string, number>();
  const host = new PrioritySlots(1);
  const pipeline: PipelineOptions = {
    ...o.pipeline,
    hostSide: (name, fn) => (o.concurrent ? host.with(name, priority.get(name) ?? 0, fn, o.pipeline.signal) : fn()),
    priority: (name) => priority.get(name) ?? 0,
  };
  /** pkgname → why it did not build (failed, or blocked by these). */
  const notBuilt = new Map<string, string[]>();
  const ended = new Map<string, Deferred>(o.plan.order.map((n) => [n, deferred()]));
  let firstFailure: string | undefined;
  const blockedBy = (recipe: RecipeMeta, s: PhaseState): string | false => {
    const blockers = pipeline.identities
      .needs(recipe)
      .filter((d) => notBuilt.has(d))
      .sort();
    if (!blockers.length && !(o.concurrent && firstFailure && !o.keepGoing)) return false;
    const by = blockers.length ? blockers : [firstFailure!];
    notBuilt.set(recipe.name, by);
    s.packages.push(packageEntry(recipe, { action: 'blocked', blockedBy: by }));
    return `blocked by ${by.join(', ')}`;
  };
  const stepOf = (recipe: RecipeMeta): Step<PhaseState> => ({
    title: `${recipe.name} ${recipe.pkgver}`,
    keepGoing: o.keepGoing || o.concurrent,
    ...(o.concurrent ? { group: 'build the packages over the farm (--spread)' } : { skip: (s: PhaseState) => blockedBy(recipe, s) }),
    run: async (s, output) => {
      const what = `${o.phase} build of ${recipe.name}`;
      try {
        if (o.concurrent) {
          const waits = pipeline.identities.needs(recipe).filter((d) => ended.has(d));
          if (waits.length) output(`waiting for ${waits.join(', ')}`);
          await abortable(Promise.all(waits.map((d) => ended.get(d)!.promise)), o.pipeline.signal, what);
          const blocked = blockedBy(recipe, s);
          if (blocked) return blocked;
        }
        const { outcome, line } = await abortable(buildPackage(pipeline, recipe, output), o.pipeline.signal, what);
        s.packages.push(outcome);
        return line;
      } catch (err) {
        if ((o.keepGoing || o.concurrent) && !o.pipeline.signal?.aborted) {
          notBuilt.set(recipe.name, []);
          firstFailure ??= recipe.name;
          const error = err instanceof Error ? err.message.split('\n')[0]! : String(err);
          const hint = err instanceof IgluError && err.hint ? { hint: err.hint } : {};
          s.packages.push(packageEntry(recipe, { action: 'failed', error, ...hint, log: o.pipeline.paths.logFile(recipe.name) }));
        }
        throw err;
      } finally {
        ended.get(recipe.name)?.resolve();
      }
    },
  });
  return o.plan.order.map((name) => stepOf(byName.get(name)!));
}

/** Priorities for the farm's slots: remainingChain over the plan, times from the newest manifests (build.seconds). */
async function chainPriorities(o: PhaseStepsOptions, byName: Map<string, RecipeMeta>): Promise<Map<string, number>> {
  const recorded = new Map<string, number>();
  for (const n of o.plan.order) {
    const m = await newestManifest(o.pipeline.paths.outDir, n, o.phase === 'chroot' ? 'chroot' : 'farm');
    if (m) recorded.set(n, m.build.seconds);
  }
  return remainingChain(
    buildJobs(
      o.plan.order.map((n) => byName.get(n)!),
      recorded,
    ),
  );
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

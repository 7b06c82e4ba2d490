import { IgluError } from '../errors.js';

/** One package build as the scheduler sees it. */
export interface BuildJob {
  /** pkgname */
  name: string;
  /** Packages that must be built first (names of other jobs; others are ignored). */
  deps: string[];
  /** Its build time in seconds: recorded (the manifest's build.seconds) or a default. */
  seconds: number;
}

/**
 * Each job's priority for critical-path-first scheduling: its own time plus the longest
 * chain of jobs that wait for it (the "bottom level" of list scheduling; Kwok and Ahmad,
 * "Static scheduling algorithms for allocating directed task graphs to multiprocessors",
 * ACM Computing Surveys 31(4), 1999). The largest value is the DAG's critical path. Pure.
 * @returns seconds by job name
 * @throws IgluError naming the jobs of a dependency cycle
 */
export function remainingChain(jobs: BuildJob[]): Map<string, number> {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const waiting = new Map<string, string[]>(jobs.map((j) => [j.name, []]));
  for (const j of jobs) for (const d of j.deps) if (byName.has(d) && d !== j.name) waiting.get(d)!.push(j.name);
  const chain = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (name: string, path: string[]): number => {
    const known = chain.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name))
      throw new IgluError(`dependency cycle: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`, {
        hint: "break the cycle in the recipes' deps/mkdeps",
      });
    visiting.add(name);
    const after = Math.max(0, ...waiting.get(name)!.map((w) => visit(w, [...path, name])));
    visiting.delete(name);
    const value = byName.get(name)!.seconds + after;
    chain.set(name, value);
    return value;
  };
  for (const j of jobs) visit(j.name, []);
  return chain;
}

/** Where and when one job ran in a schedule. */
export interface ScheduledJob {
  name: string;
  /** 0-based node index. */
  node: number;
  /** Seconds from the start. */
  start: number;
  end: number;
}

/** A whole simulated schedule and how it compares with the best one possible. */
export interface Schedule {
  jobs: ScheduledJob[];
  /** Seconds until the last job ends. */
  makespan: number;
  /** The longest dependency chain, seconds. */
  criticalPath: number;
  /** Total seconds of work over all jobs. */
  work: number;
  /** max(criticalPath, work ÷ slots): no schedule can end before it. */
  lowerBound: number;
  /** makespan ÷ lowerBound, ≥ 1. */
  ratio: number;
}

/**
 * Simulates critical-path-first list scheduling of `jobs` over `nodes` nodes of `slots`
 * slots each, every job taking one slot for its `seconds`: whenever a slot is free, the
 * ready job with the longest remaining chain (remainingChain; ties by name) starts on the
 * node with the most free slots (ties: the lowest index). The event-driven simulation the
 * spread build's dispatcher follows, with recorded times in place of real builds.
 * `priority: 'name'` picks ready jobs by name instead: the baseline a dispatcher without
 * recorded times would follow. Pure.
 * @throws IgluError for a dependency cycle, or fewer than one node or slot
 */
export function simulateSchedule(jobs: BuildJob[], nodes: number, slots: number, opts: { priority?: 'critical-path' | 'name' } = {}): Schedule {
  if (!(nodes >= 1 && slots >= 1)) throw new IgluError(`a schedule needs at least one node and one slot (got ${nodes} × ${slots})`);
  const chain = remainingChain(jobs);
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const left = new Map(jobs.map((j) => [j.name, new Set(j.deps.filter((d) => byName.has(d) && d !== j.name))]));
  const free = Array.from({ length: nodes }, () => slots);
  const ready = jobs.filter((j) => left.get(j.name)!.size === 0).map((j) => j.name);
  const running: ScheduledJob[] = [];
  const done: ScheduledJob[] = [];
  const priority =
    opts.priority === 'name' ? (a: string, b: string) => a.localeCompare(b) : (a: string, b: string) => chain.get(b)! - chain.get(a)! || a.localeCompare(b);
  let now = 0;
  while (done.length < jobs.length) {
    ready.sort(priority);
    while (ready.length && free.some((f) => f > 0)) {
      const name = ready.shift()!;
      const node = free.indexOf(Math.max(...free));
      free[node]!--;
      running.push({ name, node, start: now, end: now + byName.get(name)!.seconds });
    }
    // the next job to end (ties: all of them at once)
    now = Math.min(...running.map((r) => r.end));
    for (const r of running.filter((x) => x.end === now)) {
      running.splice(running.indexOf(r), 1);
      free[r.node]!++;
      done.push(r);
      for (const [name, deps] of left) if (deps.delete(r.name) && deps.size === 0) ready.push(name);
    }
  }
  const criticalPath = Math.max(0, ...chain.values());
  const work = jobs.reduce((n, j) => n + j.seconds, 0);
  const lowerBound = Math.max(criticalPath, work / (nodes * slots));
  const makespan = Math.max(0, ...done.map((d) => d.end));
  return { jobs: done, makespan, criticalPath, work, lowerBound, ratio: lowerBound === 0 ? 1 : makespan / lowerBound };
}

/** The time assumed for a package never built (no recorded build.seconds), seconds. */
export const DEFAULT_BUILD_SECONDS = 60;

/**
 * The scheduler's jobs for recipes: deps and mkdeps as edges (a name a recipe provides as
 * a subpackage stands for that recipe; names no recipe provides are left out: the base
 * and the toolchain), times from `recorded` (seconds by pkgname, from the manifests'
 * build.seconds) or `fallback` for a package never built. Pure.
 */
export function buildJobs(
  recipes: { name: string; deps: string[]; mkdeps: string[]; provides: string[] }[],
  recorded: ReadonlyMap<string, number>,
  fallback = DEFAULT_BUILD_SECONDS,
): BuildJob[] {
  const provider = new Map<string, string>();
  for (const r of recipes) for (const p of [r.name, ...r.provides]) provider.set(p, r.name);
  return recipes.map((r) => ({
    name: r.name,
    deps: [...new Set([...r.deps, ...r.mkdeps].map((d) => provider.get(d)).filter((d): d is string => d !== undefined && d !== r.name))],
    seconds: recorded.get(r.name) ?? fallback,
  }));
}

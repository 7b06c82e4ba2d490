import { IgluError } from '../errors.js';
import { remainingChain, type BuildJob, type Schedule } from './critical-path.js';

/**
 * A package build whose compiles spread over the farm (distcc): a part that runs on one
 * slot whatever the farm has (configure, links, packing) and compiles that run on as many
 * of the farm's slots as its `make -j` reaches.
 */
export interface FarmJob {
  name: string;
  deps: string[];
  /** Seconds on one slot, whatever the farm. */
  serial: number;
  /** CPU seconds of compiles, spread over up to `maxSlots` slots at once. */
  parallel: number;
  /** The most slots its compiles use at once (its -j; at least 1). */
  maxSlots: number;
}

/** The fastest a job can build on `capacity` slots: its serial part, then its compiles on min(maxSlots, capacity). Pure. */
export function fastest(job: FarmJob, capacity: number): number {
  return job.serial + job.parallel / Math.max(1, Math.min(job.maxSlots, capacity));
}

interface Running {
  job: FarmJob;
  start: number;
  serialLeft: number;
  parallelLeft: number;
  rate: number;
}

/**
 * Simulates a spread build on a farm of `nodes` × `slots` slots in which a package's
 * compiles use the whole farm: up to `nodes × slots` packages build at once, each running
 * package's serial part takes one slot, and the slots left go to the compiles of running
 * packages in critical-path order (remainingChain over each job's fastest time; ties by
 * name), each taking at most its maxSlots. Whenever a package ends or a serial part
 * finishes, the slots are shared out again. The lower bound is max(the critical path at
 * each job's fastest, all work ÷ all slots). Pure; the event-driven twin of
 * simulateSchedule for moldable jobs (a fixed-time job is a FarmJob with parallel 0).
 * @returns the schedule; each job's node is 0 (the farm is one pool)
 * @throws IgluError for a dependency cycle, or fewer than one node or slot
 */
export function simulateFarm(jobs: FarmJob[], nodes: number, slots: number): Schedule {
  if (!(nodes >= 1 && slots >= 1)) throw new IgluError(`a schedule needs at least one node and one slot (got ${nodes} × ${slots})`);
  const capacity = nodes * slots;
  const asFixed: BuildJob[] = jobs.map((j) => ({ name: j.name, deps: j.deps, seconds: fastest(j, capacity) }));
  const chain = remainingChain(asFixed);
  const priority = (a: FarmJob, b: FarmJob) => chain.get(b.name)! - chain.get(a.name)! || a.name.localeCompare(b.name);
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const left = new Map(jobs.map((j) => [j.name, new Set(j.deps.filter((d) => byName.has(d) && d !== j.name))]));
  const ready = jobs.filter((j) => left.get(j.name)!.size === 0);
  const running: Running[] = [];
  const done: Schedule['jobs'] = [];
  let now = 0;
  while (done.length < jobs.length) {
    ready.sort(priority);
    while (ready.length && running.length < capacity) {
      const job = ready.shift()!;
      running.push({ job, start: now, serialLeft: job.serial, parallelLeft: job.parallel, rate: 0 });
    }
    shareSlots(running, capacity, priority);
    const step = Math.min(...running.map(timeToNextChange));
    if (!Number.isFinite(step)) throw new IgluError('the farm simulation stalled: no running job can advance');
    now += step;
    for (const r of [...running]) {
      advance(r, step);
      if (r.serialLeft > 1e-9 || r.parallelLeft > 1e-9) continue;
      running.splice(running.indexOf(r), 1);
      done.push({ name: r.job.name, node: 0, start: r.start, end: now });
      for (const [name, deps] of left) if (deps.delete(r.job.name) && deps.size === 0) ready.push(byName.get(name)!);
    }
  }
  const criticalPath = Math.max(0, ...chain.values());
  const work = jobs.reduce((n, j) => n + j.serial + j.parallel, 0);
  const lowerBound = Math.max(criticalPath, work / capacity);
  const makespan = Math.max(0, ...done.map((d) => d.end));
  return { jobs: done, makespan, criticalPath, work, lowerBound, ratio: lowerBound === 0 ? 1 : makespan / lowerBound };
}

/** Slots for each running job: one for a serial part, then the compiles in priority order, each up to its maxSlots. */
function shareSlots(running: Running[], capacity: number, priority: (a: FarmJob, b: FarmJob) => number): void {
  let free = capacity;
  for (const r of running) {
    if (r.serialLeft <= 1e-9) continue;
    r.rate = 1;
    free--;
  }
  for (const r of [...running].filter((x) => x.serialLeft <= 1e-9).sort((a, b) => priority(a.job, b.job))) {
    r.rate = Math.max(0, Math.min(r.job.maxSlots, free));
    free -= r.rate;
  }
}

/** Seconds until this job's serial part or compiles end at its current rate (Infinity when it gets no slot). */
function timeToNextChange(r: Running): number {
  if (r.serialLeft > 1e-9) return r.serialLeft;
  if (r.parallelLeft <= 1e-9) return 0;
  return r.rate > 0 ? r.parallelLeft / r.rate : Infinity;
}

function advance(r: Running, step: number): void {
  if (r.serialLeft > 1e-9) r.serialLeft = Math.max(0, r.serialLeft - step);
  else r.parallelLeft = Math.max(0, r.parallelLeft - r.rate * step);
}

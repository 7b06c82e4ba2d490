import type { Task } from './task.js';

/**
 * The queued task to start next: fair share between owners, then priority, then age.
 * Owners take turns: the owner whose last task started longest ago (or never) goes
 * first, so one submitter's hundred tasks never starve another's one (the turn order of
 * a fair-share scheduler such as Slurm's, reduced to one slot). Within an owner, higher
 * priority first, then the oldest. A task whose priority is above 0 (only an admin token
 * may set it) goes before every owner's turn. Pure.
 * @param queued the tasks in state queued
 * @param lastStart when each owner's (Task.ownerId's) last task started (ISO time); absent: never
 */
export function nextTask(queued: readonly Task[], lastStart: ReadonlyMap<string, string>): Task | undefined {
  const byAge = (a: Task, b: Task) =>
    b.priority - a.priority || (a.queuedAt ?? a.createdAt).localeCompare(b.queuedAt ?? b.createdAt) || a.id.localeCompare(b.id);
  const urgent = queued.filter((t) => t.priority > 0).sort(byAge)[0];
  if (urgent) return urgent;
  const owners = [...new Set(queued.map((t) => t.ownerId))].sort(
    (a, b) => (lastStart.get(a) ?? '').localeCompare(lastStart.get(b) ?? '') || a.localeCompare(b),
  );
  const first = owners[0];
  return first === undefined ? undefined : queued.filter((t) => t.ownerId === first).sort(byAge)[0];
}

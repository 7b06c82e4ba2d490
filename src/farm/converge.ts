import type { TaskInfo } from '../docker/index.js';

/** How far a service's tasks are from the desired count. */
export interface Convergence {
  running: number;
  desired: number;
  /** Tasks the scheduler gave up on (rejected/failed), with their error messages. */
  failures: { taskId: string; state: string; message: string }[];
  done: boolean;
}

const FAILED = new Set(['failed', 'rejected', 'orphaned']);

/**
 * Judges a service's convergence from its tasks. Pure.
 * @param tasks every task of the service (any desired state)
 * @param desired replicas, or the number of eligible nodes for a global service
 */
export function convergence(tasks: TaskInfo[], desired: number): Convergence {
  const current = tasks.filter((t) => t.desiredState === 'running');
  const running = current.filter((t) => t.state === 'running').length;
  const failures = tasks.filter((t) => FAILED.has(t.state)).map((t) => ({ taskId: t.id, state: t.state, message: t.message }));
  return { running, desired, failures, done: running === desired && current.length === desired };
}

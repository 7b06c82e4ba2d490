import { withinLimits } from '../sandbox/limits.js';
import type { RunnerJob } from './runner.js';

/**
 * Runs a build under its wall-time limit: `run` gets `job` with a signal that ends it at
 * the run's end (`job.signal`) or when limits.wallSeconds have passed, whichever comes
 * first. A build past its time, or one whose log shows it hit another limit, fails with
 * an error naming the limit and its value (withinLimits).
 * @throws IgluError "timed out" (exit 1) past the wall time; the runner's error otherwise
 */
export async function limited<T>(job: RunnerJob, run: (job: RunnerJob) => Promise<T>): Promise<T> {
  const { limits, recipe, logFile } = job;
  return withinLimits({ name: recipe.name, limits, logFile, ...(job.signal ? { signal: job.signal } : {}) }, (signal) => run({ ...job, signal }));
}

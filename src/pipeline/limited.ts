import { IgluError } from '../errors.js';
import { limitHit } from '../sandbox/limits.js';
import { tailOf } from '../util/tail.js';
import type { RunnerJob } from './runner.js';

/**
 * Runs a build under its wall-time limit: `run` gets `job` with a signal that ends it at
 * the run's end (`job.signal`) or when limits.wallSeconds have passed, whichever comes
 * first. A build past its time, or one whose log shows it hit another limit, fails with
 * an error naming the limit and its value.
 * @throws IgluError "timed out" (exit 1) past the wall time; the runner's error otherwise
 */
export async function limited<T>(job: RunnerJob, run: (job: RunnerJob) => Promise<T>): Promise<T> {
  const { limits, recipe, logFile } = job;
  const outer = job.signal;
  const timeout = AbortSignal.timeout(limits.wallSeconds * 1000);
  try {
    return await run({ ...job, signal: outer ? AbortSignal.any([outer, timeout]) : timeout });
  } catch (err) {
    if (timeout.aborted && !outer?.aborted) {
      throw new IgluError(
        `${recipe.name}: timed out after ${limits.wallSeconds} s (limits.wallSeconds = ${limits.wallSeconds}); killed with everything it started`,
        {
          hint: `raise limits.wallSeconds, or limits.packages.${recipe.name}.wallSeconds, in iglu.yaml; the log: ${logFile}`,
        },
      );
    }
    const hit = err instanceof IgluError && !outer?.aborted ? limitHit(await tailOf(logFile, 40), limits) : undefined;
    if (hit) {
      // on the first line: a keep-going build's summary shows only that
      const [first, ...rest] = (err as IgluError).message.split('\n');
      throw new IgluError([`${first} it hit a limit: ${hit}`, ...rest].join('\n'), { hint: (err as IgluError).hint, cause: err });
    }
    throw err;
  }
}

import type { LimitsConfig } from '../config/schema.js';
import { IgluError } from '../errors.js';
import { tailOf } from '../util/tail.js';

/** What one package's build may use, resolved for that package (config `limits`, then `limits.packages.<pkgname>`). */
export interface BuildLimits {
  wallSeconds: number;
  memoryMiB: number;
  processes: number;
  tmpMiB: number;
  /** A swarm job's output that its node and iglu keep (config limits.logMiB). */
  logMiB: number;
}

/** The limits of `pkgname`'s build: the config's defaults with its own entry over them. Pure. */
export function limitsFor(config: LimitsConfig, pkgname: string): BuildLimits {
  const own = config.packages[pkgname] ?? {};
  return {
    wallSeconds: own.wallSeconds ?? config.wallSeconds,
    memoryMiB: own.memoryMiB ?? config.memoryMiB,
    processes: own.processes ?? config.processes,
    tmpMiB: own.tmpMiB ?? config.tmpMiB,
    logMiB: own.logMiB ?? config.logMiB,
  };
}

/**
 * The prlimit(1) (util-linux) arguments that bound a sandbox's processes: RLIMIT_NPROC
 * (processes of its uid at once; setrlimit(2): root with CAP_SYS_RESOURCE is exempt, the
 * sandbox's uid is not) and RLIMIT_AS (each process's address space), soft and hard alike
 * so the recipe cannot raise them. Pure.
 */
export function prlimitArgs(l: Pick<BuildLimits, 'processes' | 'memoryMiB'>): string[] {
  const as = l.memoryMiB * 1024 * 1024;
  return ['prlimit', `--nproc=${l.processes}:${l.processes}`, `--as=${as}:${as}`, '--'];
}

/**
 * What reading a recipe (sourcing its build.sh: recipes/read.ts) may use, whatever
 * iglu.yaml says: top-level code should only set variables and define functions, so a
 * few processes, little memory and a few seconds are plenty.
 */
export const READ_LIMITS: Omit<BuildLimits, 'logMiB'> = { wallSeconds: 10, memoryMiB: 256, processes: 32, tmpMiB: 16 };

/**
 * Which limit a failed build's log shows it hit, as words for the error; undefined when
 * none does. `name` gives a limit's name in the words (default `limits.<key>`, as iglu.yaml has it). Pure.
 */
export function limitHit(
  logTail: string,
  l: Omit<BuildLimits, 'logMiB' | 'wallSeconds'>,
  name: (key: keyof BuildLimits) => string = (k) => `limits.${k}`,
): string | undefined {
  if (/No space left on device/.test(logTail)) return `/tmp or the workspace is full (${name('tmpMiB')} = ${l.tmpMiB} for /tmp)`;
  if (/Resource temporarily unavailable|cannot fork|fork: retry|can't fork/i.test(logTail)) return `too many processes (${name('processes')} = ${l.processes})`;
  if (/Cannot allocate memory|memory exhausted|out of memory|bad_alloc/i.test(logTail))
    return `out of memory (${name('memoryMiB')} = ${l.memoryMiB} per process)`;
  return undefined;
}

/**
 * Runs a phase of package `name` (its build, or fetch: `phase`) under limits.wallSeconds:
 * `run` gets a signal that ends it at `signal`'s abort (the run's end) or when the time
 * is up, whichever comes first. Past its time it fails as timed out; a failure whose log
 * (`logFile`) shows another limit hit has that limit and its value added to the error's
 * first line (limitHit).
 * @throws IgluError "timed out" (exit 1) past the wall time; `run`'s error otherwise
 */
export async function withinLimits<T>(
  what: { name: string; phase?: string; limits: BuildLimits; logFile: string; signal?: AbortSignal },
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { name, limits, logFile, signal: outer } = what;
  const timeout = AbortSignal.timeout(limits.wallSeconds * 1000);
  try {
    return await run(outer ? AbortSignal.any([outer, timeout]) : timeout);
  } catch (err) {
    if (timeout.aborted && !outer?.aborted) {
      const s = limits.wallSeconds;
      throw new IgluError(
        `${name}: ${what.phase ? `${what.phase} ` : ''}timed out after ${s} s (limits.wallSeconds = ${s}); killed with everything it started`,
        {
          hint: `raise limits.wallSeconds, or limits.packages.${name}.wallSeconds, in iglu.yaml; the log: ${logFile}`,
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

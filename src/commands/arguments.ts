import { InvalidArgumentError } from 'commander';
import { ExitCode, IgluError } from '../errors.js';

/** The most replicas (tasks) `farm up --replicas` and `farm scale` accept: far above any farm, well inside the Engine's uint64. */
export const MAX_REPLICAS = 1000;

/** The longest `farm top --interval`, seconds: one day (setTimeout takes at most 2^31-1 ms, about 24.8 days). */
export const MAX_INTERVAL_S = 86_400;

/**
 * Commander's parser for a whole number written in decimal digits, from `min` to `max`
 * (`0x10`, `1e3`, `99999999999999999999` and `-1` are refused, not read as something else).
 * Pure.
 * @throws InvalidArgumentError (commander prints it and exits 2) naming the range
 */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`not a whole number in decimal digits (${min} to ${max})`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be from ${min} to ${max}`);
    return n;
  };
}

/**
 * Commander's parser for seconds written as a plain decimal (`2`, `0.5`), from `min` to
 * `max` (`Infinity`, `1e10`, `0x10` and `0.001` below a `min` of 0.1 are refused). Pure.
 * @throws InvalidArgumentError naming the range
 */
export function seconds(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError(`not a number of seconds written as digits, e.g. 2 or 0.5 (${min} to ${max})`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be from ${min} to ${max} seconds`);
    return n;
  };
}

/**
 * Commander's parser for a value that must not be empty (`--package ''`). Pure.
 * @throws InvalidArgumentError
 */
export function nonEmpty(value: string): string {
  if (!value.trim()) throw new InvalidArgumentError('must not be empty');
  return value;
}

/**
 * Refuses contradicting runner flags rather than letting one win silently: `--spread`
 * with `--no-spread`, and `--spread` with the flag that builds here compiling through the
 * farm (`farmFlag`: `--farm` of chroot build, `--chroot-farm` of build), since a spread
 * build runs each package on a farm node. Pure.
 * @param given which of --spread and --no-spread were on the command line (commander
 *   keeps only the last: record them with `.on('option:spread')`/`.on('option:no-spread')`)
 * @throws IgluError with exit code 2 (bad usage)
 */
export function checkRunnerFlags(given: ReadonlySet<string>, flags: { farm?: boolean; spread?: boolean }, farmFlag = '--farm'): void {
  if (given.has('--spread') && given.has('--no-spread'))
    throw new IgluError('--spread and --no-spread contradict each other', { exitCode: ExitCode.usage, hint: 'give one of them' });
  if (flags.farm && flags.spread === true)
    throw new IgluError(
      `--spread and ${farmFlag} contradict each other: a spread build runs each package on a farm node; ${farmFlag} builds here and compiles through the farm`,
      { exitCode: ExitCode.usage, hint: 'give one of them' },
    );
}

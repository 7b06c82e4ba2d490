import { InvalidArgumentError } from 'commander';

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

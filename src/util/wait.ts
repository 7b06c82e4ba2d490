import { setTimeout as sleep } from 'node:timers/promises';
import { IgluError } from '../errors.js';
import { interrupted } from './abort.js';

/** Time source for waiting; tests pass a fake one. */
export interface Clock {
  /** Milliseconds since some fixed point. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = { now: () => performance.now(), sleep: (ms) => sleep(ms).then(() => undefined) };

/**
 * Polls `probe` until it returns a value other than undefined, at most `timeoutMs`.
 * @param probe returns the awaited value, or undefined to keep waiting; may throw to stop
 * @param what describes what is awaited, for the timeout message
 * @param lastState describes the state at the time of the timeout (shown to the user)
 * @param signal stops the wait between probes, so an interrupted command does not keep
 *   polling until the timeout (never given to the waits of a cleanup, which must finish)
 * @returns the probe's value
 * @throws IgluError on timeout (with `hint`), "interrupted" once `signal` aborts, or
 *   whatever the probe throws
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; what: string; hint: string; lastState?: () => string; clock?: Clock; signal?: AbortSignal },
): Promise<T> {
  const clock = opts.clock ?? realClock;
  const signal = opts.signal;
  const deadline = clock.now() + opts.timeoutMs;
  for (;;) {
    if (signal?.aborted) throw interrupted(`waiting for ${opts.what}`);
    const value = await probe();
    if (value !== undefined) return value;
    if (clock.now() >= deadline) {
      const state = opts.lastState ? ` (${opts.lastState()})` : '';
      throw new IgluError(`timed out after ${seconds(opts.timeoutMs)} s waiting for ${opts.what}${state}`, { hint: opts.hint });
    }
    await clock.sleep(opts.intervalMs ?? 250);
  }
}

function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(1).replace(/\.0$/, '') : String(Math.round(ms / 1000));
}

import { interrupted } from '../util/abort.js';

interface Waiter {
  priority: number;
  name: string;
  grant: () => void;
}

/**
 * A counting semaphore that hands free slots to the waiter with the highest priority
 * first (ties: by name), as list scheduling does: with priorities from remainingChain,
 * the package on the longest remaining chain gets the next free slot of the farm.
 */
export class PrioritySlots {
  private used = 0;
  private readonly waiting: Waiter[] = [];

  /** @param capacity slots (at least 1) */
  constructor(readonly capacity: number) {}

  /** Slots in use now. */
  get busy(): number {
    return this.used;
  }

  /**
   * Waits for a slot.
   * @returns the function that gives it back (call it once)
   * @throws "interrupted" when `signal` aborts while waiting
   */
  async acquire(name: string, priority: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw interrupted(`waiting for a slot for ${name}`);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          reject(interrupted(`waiting for a slot for ${name}`));
        }
      };
      const waiter: Waiter = {
        name,
        priority,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.dispatch();
    });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
      this.dispatch();
    };
  }

  /** Runs `fn` holding a slot. */
  async with<T>(name: string, priority: number, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(name, priority, signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private dispatch(): void {
    while (this.used < Math.max(1, this.capacity) && this.waiting.length) {
      this.waiting.sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name));
      const next = this.waiting.shift()!;
      this.used++;
      next.grant();
    }
  }
}

import { setMaxListeners } from 'node:events';

/** Aborted by cli.ts when the process gets SIGINT or SIGTERM. */
export const interruption = new AbortController();
// every package building at once (a spread build: as many as the farm has room for) listens
// on it several times over (its wall time, its place in the queue, its job's wait); Node's
// default of 10 listeners would call that a leak (events.setMaxListeners)
setMaxListeners(1000, interruption.signal);

/**
 * Set while a person uses a program through iglu (`iglu chroot enter`): Ctrl-C belongs to
 * that program (the terminal sends SIGINT to it as well), so cli.ts does not abort on it.
 */
export const terminal = { handsOff: false };

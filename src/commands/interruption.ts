/** Aborted by cli.ts when the process gets SIGINT or SIGTERM. */
export const interruption = new AbortController();

/**
 * Set while a person uses a program through iglu (`iglu chroot enter`): Ctrl-C belongs to
 * that program (the terminal sends SIGINT to it as well), so cli.ts does not abort on it.
 */
export const terminal = { handsOff: false };

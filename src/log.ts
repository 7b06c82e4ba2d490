import { formatWithOptions, type InspectOptions } from 'node:util';
import createDebug from 'debug';

/**
 * Namespaced debug logs, enabled with DEBUG=iglu:* (or one namespace, e.g.
 * DEBUG=iglu:docker). They go to stderr and never carry secrets: pass join tokens
 * through `mask` first.
 */
export const log = {
  docker: createDebug('iglu:docker'),
  farm: createDebug('iglu:farm'),
  image: createDebug('iglu:image'),
  config: createDebug('iglu:config'),
  cli: createDebug('iglu:cli'),
  sources: createDebug('iglu:sources'),
  build: createDebug('iglu:build'),
};

/** Replaces a swarm join token (SWMTKN-1-…) anywhere in `text` with a masked form. */
export function mask(text: string): string {
  return text.replace(/SWMTKN-1-[A-Za-z0-9-]+/g, 'SWMTKN-1-****');
}

/**
 * Every debug namespace — iglu's and its libraries' (docker-modem logs each Engine API
 * request and response under DEBUG=modem, join tokens included) — writes through this
 * one sink, which masks join tokens: debug's shared `log` function (debug's README,
 * "Output streams"), set once when this module loads.
 */
createDebug.log = (...args: unknown[]): boolean =>
  process.stderr.write(`${mask(formatWithOptions((createDebug as unknown as { inspectOpts?: InspectOptions }).inspectOpts ?? {}, ...args))}\n`);

import { loadConfig, DEFAULT_CONFIG_FILE } from '../config/load.js';
import { openEngine, resolveEndpoint, type Engine } from '../docker/index.js';
import type { RunContext } from '../run-context.js';
import { Workdir } from '../layout/workdir.js';

/** Options every command takes (see cli.ts). */
export interface GlobalOptions {
  config?: string;
  workdir?: string;
  dockerHost?: string;
  json?: boolean;
}

/** What a command handler works with: a run's context, plus what only the CLI reads. */
export interface Context extends RunContext {
  json: boolean;
  /** The endpoint of the manager engine (flag, then iglu.yaml, then DOCKER_HOST). */
  endpoint: string;
}

/** Aborted by cli.ts when the process gets SIGINT or SIGTERM. */
export const interruption = new AbortController();

/**
 * Set while a person uses a program through iglu (`iglu chroot enter`): Ctrl-C belongs to
 * that program (the terminal sends SIGINT to it as well), so cli.ts does not abort on it.
 */
export const terminal = { handsOff: false };

/**
 * Loads iglu.yaml (the --config file must exist; the default one may not) and resolves
 * the work directory and Docker endpoint.
 * @throws IgluError for a bad config file
 */
export async function makeContext(opts: GlobalOptions): Promise<Context> {
  const config = await loadConfig(opts.config ?? DEFAULT_CONFIG_FILE, opts.config !== undefined);
  const endpoint = resolveEndpoint(opts.dockerHost ?? config.docker.host);
  let engine: Promise<Engine> | undefined;
  return {
    config,
    workdir: Workdir.resolve(opts.workdir, config.workdir),
    json: Boolean(opts.json),
    endpoint,
    engine: () => (engine ??= openEngine(endpoint)),
    signal: interruption.signal,
  };
}

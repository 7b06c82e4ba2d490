import { loadConfig, DEFAULT_CONFIG_FILE } from '../config/load.js';
import type { Engine } from '../docker/index.js';
import { resolveEndpoint } from '../docker/endpoint.js';
import { interruption } from './interruption.js';
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
    // dockerode and its transports load on first use: a command that never reaches the engine starts faster
    engine: () => (engine ??= import('../docker/index.js').then((docker) => docker.openEngine(endpoint))),
    signal: interruption.signal,
  };
}

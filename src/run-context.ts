import type { Config } from './config/schema.js';
import type { Engine } from './docker/index.js';
import type { Workdir } from './layout/workdir.js';

/**
 * What a run of iglu's domain code works with, whoever started it (a command, a test, a
 * build service): the validated config, the work directory, the engine, and the signal
 * that ends the run. Domain modules take this, never the CLI's Context.
 */
export interface RunContext {
  config: Config;
  workdir: Workdir;
  /** Connects to the engine on first use. @throws IgluError when it does not answer */
  engine: () => Promise<Engine>;
  /** Aborted when the run must stop (the CLI: SIGINT or SIGTERM); long work stops and releases what it made. */
  signal: AbortSignal;
}

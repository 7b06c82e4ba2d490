/** The Docker layer: the rest of iglu imports from here, never dockerode itself. */
export { Engine, openEngine } from './engine.js';
export { resolveEndpoint, dockerOptions, DEFAULT_ENDPOINT } from './connect.js';
export { readJsonLines } from './json-stream.js';
export { engineMessage, statusOf } from './api-error.js';
export type * from './types.js';
export type { OneShot, OneShotResult } from './containers.js';

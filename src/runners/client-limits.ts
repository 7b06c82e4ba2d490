import { totalmem } from 'node:os';
import type { LimitsConfig } from '../config/schema.js';
import { taskMemoryBytes } from '../farm/service-spec.js';

/** Processes a build container runs besides the sandbox's: make and distcc's lock waits are inside it; docker exec's shells, the reaper, tini. */
const CONTAINER_OWN_PIDS = 256;

/** The HostConfig limits of a container that builds (ContainersClient.start: memoryBytes, pidsLimit). */
export interface BuildContainerLimits {
  memoryBytes: number;
  pidsLimit: number;
}

/**
 * The limits of a container where recipes build in the sandbox: the toolchain phase's
 * client, the --farm container of the build root. Pids: the most processes any package's
 * sandbox may run (limits.processes, and limits.packages' own), the distcc forwarder's
 * two per connection and itself (`connections`: forwarderConnections, 0 without a
 * forwarder), and CONTAINER_OWN_PIDS. Memory: three quarters of the engine's machine
 * (`engineMemoryBytes`, the engine's MemTotal; this machine's when the engine does not say),
 * as a farm task's (taskMemoryBytes): a build that fills it is killed by the container's
 * own out-of-memory killer, not the host's. Pure but for that fallback.
 */
export function buildContainerLimits(limits: LimitsConfig, engineMemoryBytes: number, connections: number): BuildContainerLimits {
  const processes = Math.max(limits.processes, ...Object.values(limits.packages).map((p) => p.processes ?? 0));
  return {
    memoryBytes: taskMemoryBytes(engineMemoryBytes || totalmem()),
    pidsLimit: processes + (connections ? 2 * connections + 1 : 0) + CONTAINER_OWN_PIDS,
  };
}

import type { FarmConfig } from '../config/schema.js';
import type { NodeInfo } from '../docker/index.js';
import type { FarmHost } from './hosts.js';

/** How a farm build on the manager compiles: through the farm's tasks, or here (a one-node farm). */
export interface CompilePlace {
  /** Every task runs on the manager and farm.oneNode is `here`: compiles stay on this machine. */
  here: boolean;
  /** The manager's CPUs: -j and distcc's local slots when `here`. */
  cpus: number;
}

/**
 * Where a farm build on the manager (the toolchain client, the --farm container: both run
 * on its engine) compiles: here when farm.oneNode is `here` and every running task is on
 * the manager's node — distcc to a task on the same CPUs only adds its own cost (musl
 * through a one-node farm took 1.56× as long as local `make`: issue 25) — else through
 * the tasks. Pure.
 * @param fallbackCpus the CPUs to assume when the manager's node reports none
 */
export function compilePlace(
  farm: Pick<FarmConfig, 'oneNode'>,
  status: { hosts: Pick<FarmHost, 'nodeId'>[]; nodes: Pick<NodeInfo, 'id' | 'cpus'>[]; managerNodeId: string },
  fallbackCpus: number,
): CompilePlace {
  const cpus = status.nodes.find((n) => n.id === status.managerNodeId)?.cpus ?? fallbackCpus;
  const alone = status.managerNodeId !== '' && status.hosts.length > 0 && status.hosts.every((h) => h.nodeId === status.managerNodeId);
  return { here: farm.oneNode === 'here' && alone, cpus: Math.max(1, cpus) };
}

/** DISTCC_HOSTS that keeps every compile on the client, `cpus` at once (distcc(1): `localhost` runs the compiler locally). Pure. */
export function hereHosts(cpus: number): string {
  return `localhost/${Math.max(1, cpus)}`;
}

import type { NodeInfo, TaskInfo } from '../docker/index.js';

/** One distccd task as a DISTCC_HOSTS entry. */
export interface FarmHost {
  /** Overlay IPv4 address of the task. */
  ip: string;
  /** Concurrent jobs to send it: the CPUs of its node (distccd runs --jobs $(nproc)). */
  limit: number;
  nodeId: string;
  hostname: string;
  taskId: string;
}

/**
 * The farm's hosts from the live tasks: every task that is running (actual and desired
 * state) with an address on `network`, sorted by address so equal inputs give equal
 * output. Pure.
 * @param tasks tasks of the distccd service
 * @param nodes the swarm's nodes, for CPU counts and hostnames
 * @param network overlay network name
 */
export function farmHosts(tasks: TaskInfo[], nodes: NodeInfo[], network: string): FarmHost[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return tasks
    .filter((t) => t.state === 'running' && t.desiredState === 'running')
    .flatMap((t) => {
      const ip = t.addresses[network]?.[0];
      if (!ip) return [];
      const node = byId.get(t.nodeId);
      return [{ ip, limit: Math.max(1, node?.cpus ?? 1), nodeId: t.nodeId, hostname: node?.hostname ?? t.nodeId, taskId: t.id }];
    })
    .sort((a, b) => ipKey(a.ip) - ipKey(b.ip));
}

/**
 * DISTCC_HOSTS for a list of farm hosts: `IP/LIMIT` separated by spaces, the syntax of
 * distcc(1) "HOST SPECIFICATIONS" (TCP on the default port 3632, or `IP:PORT/LIMIT`).
 */
export function distccHosts(hosts: FarmHost[], port = 3632): string {
  return hosts.map((h) => `${h.ip}${port === 3632 ? '' : `:${port}`}/${h.limit}`).join(' ');
}

/** Total concurrent jobs the farm accepts: the sum of its hosts' limits. */
export function farmSlots(hosts: FarmHost[]): number {
  return hosts.reduce((sum, h) => sum + h.limit, 0);
}

function ipKey(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

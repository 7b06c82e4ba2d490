import type { NodeInfo, TaskInfo } from '../docker/index.js';

/** One distccd task as a DISTCC_HOSTS entry. */
export interface FarmHost {
  /** Overlay IPv4 address of the task. */
  ip: string;
  /** Concurrent jobs to send it: its node's CPUs divided among that node's tasks (at least 1). */
  limit: number;
  nodeId: string;
  hostname: string;
  taskId: string;
}

/**
 * The farm's hosts from the live tasks: every task that is running (actual and desired
 * state) with an address on `network`, sorted by address so equal inputs give equal
 * output. A node's CPUs are shared among its tasks: two replicas on a 2-CPU node get a
 * limit of 1 each, so the DISTCC_HOSTS limits add up to the farm's CPUs (distcc(1),
 * "HOST SPECIFICATIONS": the limit is how many jobs a host should run at once). Pure.
 * @param tasks tasks of the distccd service
 * @param nodes the swarm's nodes, for CPU counts and hostnames
 * @param network overlay network name
 */
export function farmHosts(tasks: TaskInfo[], nodes: NodeInfo[], network: string): FarmHost[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const live = tasks.filter((t) => t.state === 'running' && t.desiredState === 'running' && t.addresses[network]?.[0]);
  const perNode = new Map<string, number>();
  for (const t of live) perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
  return live
    .map((t) => {
      const node = byId.get(t.nodeId);
      const limit = Math.max(1, Math.floor((node?.cpus ?? 1) / perNode.get(t.nodeId)!));
      return { ip: t.addresses[network]![0]!, limit, nodeId: t.nodeId, hostname: node?.hostname ?? t.nodeId, taskId: t.id };
    })
    .sort((a, b) => ipKey(a.ip) - ipKey(b.ip));
}

/** How DISTCC_HOSTS treats the client's machine and the network (distccHostsFor). */
export interface HostListOptions {
  /** distccd's TCP port (default 3632). */
  port?: number;
  /** farm.compression: `,lzo` for tasks on other nodes (auto), on all (lzo), or none. */
  compression?: 'auto' | 'lzo' | 'none';
  /** The swarm node the client runs on (the manager, where iglu runs). */
  clientNodeId?: string;
  /** CPUs of the client's machine; with it, the list begins with --localslots and --localslots_cpp. */
  clientCpus?: number;
}

/**
 * DISTCC_HOSTS for a list of farm hosts: `IP/LIMIT` separated by spaces, the syntax of
 * distcc(1) "HOST SPECIFICATIONS" (TCP on the default port 3632, or `IP:PORT/LIMIT`),
 * with `,lzo` ("COMPRESSION") on the hosts whose traffic crosses a network. Given the
 * client's CPUs, the list starts with `--localslots=CPUS` (jobs distcc cannot send:
 * links, configure's odd compiles) and `--localslots_cpp=2×CPUS` (plain distcc
 * preprocesses every job on the client, so -j twice the farm's slots needs that many
 * preprocessors), and `localhost/CPUS` first when the client's node runs no task of its
 * own and holds at least a fifth of the farm's CPUs — distcc(1)'s rule for placing
 * localhost. When it runs a task, that task is the client's machine in the list already.
 * Pure.
 */
export function distccHostsFor(hosts: FarmHost[], o: HostListOptions = {}): string {
  const port = o.port ?? 3632;
  const lzo = (h: FarmHost) => o.compression === 'lzo' || (o.compression !== 'none' && o.clientNodeId !== undefined && h.nodeId !== o.clientNodeId);
  const list = hosts.map((h) => `${h.ip}${port === 3632 ? '' : `:${port}`}/${h.limit}${lzo(h) ? ',lzo' : ''}`);
  if (o.clientCpus === undefined) return list.join(' ');
  const cpus = Math.max(1, o.clientCpus);
  const local = [`--localslots=${cpus}`, `--localslots_cpp=${2 * cpus}`];
  const clientHasTask = o.clientNodeId !== undefined && hosts.some((h) => h.nodeId === o.clientNodeId);
  if (!clientHasTask && cpus * 5 >= farmSlots(hosts) + cpus) local.push(`localhost/${cpus}`);
  return [...local, ...list].join(' ');
}

/** `make -j` for a farm build: about twice the farm's slots, distcc(1)'s rule of thumb ("twice the total number of available server CPUs"); at least 2. */
export function farmJobs(slots: number): number {
  return Math.max(2, 2 * slots);
}

/** Total concurrent jobs the farm accepts: the sum of its hosts' limits. */
export function farmSlots(hosts: FarmHost[]): number {
  return hosts.reduce((sum, h) => sum + h.limit, 0);
}

function ipKey(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

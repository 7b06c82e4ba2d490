import type { FarmConfig } from '../config/schema.js';
import type { Engine, NodeInfo, TaskInfo } from '../docker/index.js';
import { distccHosts, farmHosts, farmSlots, type FarmHost } from './hosts.js';
import { serviceName } from './settings.js';

/** The farm as `iglu farm status` reports it (also its --json shape). */
export interface FarmStatus {
  farm: string;
  /** Swarm state of the manager engine ("inactive", "active", …). */
  swarm: string;
  nodes: Pick<NodeInfo, 'id' | 'hostname' | 'addr' | 'state' | 'availability' | 'role' | 'cpus'>[];
  service: { name: string; mode: string; replicas: number | null } | null;
  tasks: { id: string; node: string; ip: string | null; state: string; message: string }[];
  hosts: FarmHost[];
  /** DISTCC_HOSTS for the running tasks; "" when none. */
  distccHosts: string;
  /** Total job slots (sum of the hosts' limits). */
  slots: number;
  /** Nodes whose tasks offer more slots than the node has CPUs (replicas on too few nodes). */
  oversubscribed: OversubscribedNode[];
}

/** A node whose distccd tasks together accept more jobs than it has CPUs. */
export interface OversubscribedNode {
  hostname: string;
  tasks: number;
  /** Sum of its tasks' limits (each task runs distccd --jobs $(nproc)). */
  slots: number;
  cpus: number;
}

/**
 * The nodes that run more distccd slots than CPUs: with `replicas` above the node count,
 * swarm puts several tasks on one node and each runs `--jobs $(nproc)`, so DISTCC_HOSTS
 * promises the node's CPUs once per task (distcc(1): a host's limit should be its CPUs).
 * Pure.
 */
export function oversubscribedNodes(hosts: FarmHost[], cpusOf: (nodeId: string) => number | undefined): OversubscribedNode[] {
  const byNode = new Map<string, FarmHost[]>();
  for (const h of hosts) byNode.set(h.nodeId, [...(byNode.get(h.nodeId) ?? []), h]);
  const out: OversubscribedNode[] = [];
  for (const [nodeId, on] of byNode) {
    const cpus = cpusOf(nodeId);
    const slots = on.reduce((n, h) => n + h.limit, 0);
    if (cpus !== undefined && slots > cpus) out.push({ hostname: on[0]!.hostname, tasks: on.length, slots, cpus });
  }
  return out.sort((a, b) => a.hostname.localeCompare(b.hostname));
}

/** Reads the farm's nodes, service and tasks from the manager. Never changes anything. */
export async function farmStatus(engine: Engine, farm: FarmConfig): Promise<FarmStatus> {
  const info = await engine.info();
  const empty: FarmStatus = { farm: farm.name, swarm: info.swarm.state, nodes: [], service: null, tasks: [], hosts: [], distccHosts: '', slots: 0, oversubscribed: [] };
  if (info.swarm.state !== 'active' || !info.swarm.isManager) return empty;
  const name = serviceName(farm);
  const [nodes, service] = await Promise.all([engine.nodes.list(), engine.services.get(name)]);
  const tasks: TaskInfo[] = service ? await engine.tasks.list(name, 'running') : [];
  const hostnames = new Map(nodes.map((n) => [n.id, n.hostname]));
  const hosts = farmHosts(tasks, nodes, farm.network);
  return {
    ...empty,
    nodes: nodes.map(({ id, hostname, addr, state, availability, role, cpus }) => ({ id, hostname, addr, state, availability, role, cpus })),
    service: service ? { name, mode: service.global ? 'global' : 'replicated', replicas: service.replicas ?? null } : null,
    tasks: tasks.map((t) => ({ id: t.id, node: hostnames.get(t.nodeId) ?? t.nodeId, ip: t.addresses[farm.network]?.[0] ?? null, state: t.state, message: t.message })),
    hosts,
    distccHosts: distccHosts(hosts, farm.port),
    slots: farmSlots(hosts),
    oversubscribed: oversubscribedNodes(hosts, (id) => nodes.find((n) => n.id === id)?.cpus),
  };
}

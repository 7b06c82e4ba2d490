import type { FarmConfig } from '../config/schema.js';
import type { Engine, NodeInfo, TaskInfo } from '../docker/index.js';
import { distccHostsFor, farmHosts, farmSlots, type FarmHost } from './hosts.js';
import { serviceName } from './settings.js';
import { LABEL } from '../labels.js';
import { jobRoom } from './room.js';

/** The farm as `iglu farm status` reports it (also its --json shape). */
export interface FarmStatus {
  farm: string;
  /** Swarm state of the manager engine ("inactive", "active", …). */
  swarm: string;
  /** The swarm node ID of the engine iglu talks to (where build containers run); "" outside a swarm. */
  managerNodeId: string;
  nodes: Pick<NodeInfo, 'id' | 'hostname' | 'addr' | 'state' | 'availability' | 'role' | 'cpus'>[];
  service: { name: string; mode: string; replicas: number | null } | null;
  tasks: { id: string; node: string; ip: string | null; state: string; message: string }[];
  hosts: FarmHost[];
  /** DISTCC_HOSTS for a client on this machine (hostListFor); "" when no task runs. */
  distccHosts: string;
  /** Total job slots (sum of the hosts' limits). */
  slots: number;
  /** Nodes running several tasks, whose daemons together accept more jobs than the node has CPUs. */
  oversubscribed: OversubscribedNode[];
  /** Package builds running as swarm jobs (chroot build --spread): the package, its node ("" before the swarm placed it), its task's state. */
  builds: { pkg: string; node: string; state: string }[];
  /** Room for package jobs (jobRoom) and how much of it is free. */
  buildSlots: { room: number; free: number };
}

/** A node whose distccd tasks together accept more jobs than it has CPUs. */
export interface OversubscribedNode {
  hostname: string;
  tasks: number;
  /** Jobs its daemons accept together: each task runs distccd --jobs $(nproc). */
  accepts: number;
  cpus: number;
}

/**
 * The nodes that run more than one distccd task: with `replicas`, swarm may put several
 * tasks on one node, and each runs `--jobs $(nproc)`, so the node's daemons accept its
 * CPUs once per task. DISTCC_HOSTS divides the node's CPUs among its tasks (farmHosts), so
 * iglu's own builds stay within them; another client reading the tasks would not. Pure.
 */
export function oversubscribedNodes(hosts: FarmHost[], cpusOf: (nodeId: string) => number | undefined): OversubscribedNode[] {
  const byNode = new Map<string, FarmHost[]>();
  for (const h of hosts) byNode.set(h.nodeId, [...(byNode.get(h.nodeId) ?? []), h]);
  const out: OversubscribedNode[] = [];
  for (const [nodeId, on] of byNode) {
    const cpus = cpusOf(nodeId);
    if (cpus !== undefined && on.length > 1) out.push({ hostname: on[0]!.hostname, tasks: on.length, accepts: on.length * cpus, cpus });
  }
  return out.sort((a, b) => a.hostname.localeCompare(b.hostname));
}

/**
 * DISTCC_HOSTS for builds on the manager (iglu's client containers run on its engine):
 * distccHostsFor with farm.port and farm.compression, the manager as the client's node and
 * its CPUs as the client's. "" when no task runs. Pure.
 */
export function hostListFor(farm: FarmConfig, hosts: FarmHost[], nodes: Pick<NodeInfo, 'id' | 'cpus'>[], managerNodeId: string): string {
  if (!hosts.length) return '';
  const cpus = nodes.find((n) => n.id === managerNodeId)?.cpus;
  return distccHostsFor(hosts, { port: farm.port, compression: farm.compression, clientNodeId: managerNodeId || undefined, clientCpus: cpus });
}

/**
 * The status with only `hosts` left for builds (the tasks verifyFarmCompilers accepted):
 * DISTCC_HOSTS and slots recomputed. Pure.
 */
export function withHosts(farm: FarmConfig, status: FarmStatus, hosts: FarmHost[]): FarmStatus {
  return { ...status, hosts, distccHosts: hostListFor(farm, hosts, status.nodes, status.managerNodeId), slots: farmSlots(hosts) };
}

/** hostListFor, reading the manager's node and the nodes' CPUs from the engine. */
export async function managerHostList(engine: Engine, farm: FarmConfig, hosts: FarmHost[]): Promise<string> {
  const [info, nodes] = await Promise.all([engine.info(), engine.nodes.list()]);
  return hostListFor(farm, hosts, nodes, info.swarm.nodeId);
}

/** Reads the farm's nodes, service and tasks from the manager. Never changes anything. */
export async function farmStatus(engine: Engine, farm: FarmConfig): Promise<FarmStatus> {
  const info = await engine.info();
  const empty: FarmStatus = {
    farm: farm.name,
    swarm: info.swarm.state,
    managerNodeId: info.swarm.nodeId,
    nodes: [],
    service: null,
    tasks: [],
    hosts: [],
    distccHosts: '',
    slots: 0,
    oversubscribed: [],
    builds: [],
    buildSlots: { room: 0, free: 0 },
  };
  if (info.swarm.state !== 'active' || !info.swarm.isManager) return empty;
  const name = serviceName(farm);
  const [nodes, service] = await Promise.all([engine.nodes.list(), engine.services.get(name)]);
  const tasks: TaskInfo[] = service ? await engine.tasks.list(name, 'running') : [];
  const hostnames = new Map(nodes.map((n) => [n.id, n.hostname]));
  const hosts = farmHosts(tasks, nodes, farm.network);
  const builds = await Promise.all(
    (await engine.services.list({ [LABEL.farm]: farm.name, [LABEL.role]: 'build' })).map(async (s) => {
      const task = (await engine.tasks.list(s.id)).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      return { pkg: s.labels['iglu.pkg'] ?? s.name, node: task?.nodeId ? (hostnames.get(task.nodeId) ?? task.nodeId) : '', state: task?.state ?? 'new' };
    }),
  );
  const room = jobRoom(nodes);
  return {
    ...empty,
    nodes: nodes.map(({ id, hostname, addr, state, availability, role, cpus }) => ({ id, hostname, addr, state, availability, role, cpus })),
    service: service ? { name, mode: service.global ? 'global' : 'replicated', replicas: service.replicas ?? null } : null,
    tasks: tasks.map((t) => ({
      id: t.id,
      node: hostnames.get(t.nodeId) ?? t.nodeId,
      ip: t.addresses[farm.network]?.[0] ?? null,
      state: t.state,
      message: t.message,
    })),
    hosts,
    distccHosts: hostListFor(farm, hosts, nodes, info.swarm.nodeId),
    slots: farmSlots(hosts),
    oversubscribed: oversubscribedNodes(hosts, (id) => nodes.find((n) => n.id === id)?.cpus),
    builds,
    buildSlots: { room, free: Math.max(0, room - builds.length) },
  };
}

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
}

/** Reads the farm's nodes, service and tasks from the manager. Never changes anything. */
export async function farmStatus(engine: Engine, farm: FarmConfig): Promise<FarmStatus> {
  const info = await engine.info();
  const empty: FarmStatus = { farm: farm.name, swarm: info.swarm.state, nodes: [], service: null, tasks: [], hosts: [], distccHosts: '', slots: 0 };
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
  };
}

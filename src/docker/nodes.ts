import type Docker from 'dockerode';
import { log } from '../log.js';
import type { NodeInfo } from './types.js';

/** Swarm nodes, read on a manager (Engine API `GET /nodes`). */
export class NodesClient {
  constructor(
    private readonly api: Docker,
    private readonly endpoint: string,
  ) {}

  /** Every node of the swarm. @throws the Engine's error when this engine is not a manager */
  async list(): Promise<NodeInfo[]> {
    const nodes = await this.api.listNodes();
    log.docker('listed %d nodes on %s', nodes.length, this.endpoint);
    return nodes.map(toNodeInfo);
  }
}

// dockerode's node type is loose; these are the Engine API fields (API 1.41 "Node").
interface RawNode {
  ID: string;
  Spec?: { Role?: string; Availability?: string };
  Description?: { Hostname?: string; Resources?: { NanoCPUs?: number } };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Addr?: string };
}

function toNodeInfo(raw: unknown): NodeInfo {
  const n = raw as RawNode;
  return {
    id: n.ID,
    hostname: n.Description?.Hostname ?? '',
    addr: n.Status?.Addr && n.Status.Addr !== '0.0.0.0' ? n.Status.Addr : (n.ManagerStatus?.Addr?.split(':')[0] ?? ''),
    state: n.Status?.State ?? 'unknown',
    availability: n.Spec?.Availability ?? 'active',
    role: n.Spec?.Role === 'manager' ? 'manager' : 'worker',
    cpus: Math.round((n.Description?.Resources?.NanoCPUs ?? 0) / 1e9),
  };
}

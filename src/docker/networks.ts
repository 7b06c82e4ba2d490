import type Docker from 'dockerode';
import { log } from '../log.js';
import { idempotent, statusOf } from './api-error.js';
import type { Labels, NetworkInfo } from './types.js';

/** Networks (Engine API `/networks`). */
export class NetworksClient {
  constructor(
    private readonly api: Docker,
    private readonly endpoint: string,
  ) {}

  /** The network called `name` (exact name match), or undefined. */
  async get(name: string): Promise<NetworkInfo | undefined> {
    try {
      const net = toNetworkInfo(await this.api.getNetwork(name).inspect());
      // the Engine also matches ID prefixes; iglu means the name
      return net.name === name ? net : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Networks whose labels include every `labels` pair. */
  async list(labels: Labels): Promise<NetworkInfo[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const nets = await this.api.listNetworks({ filters: { label } });
    return nets.map(toNetworkInfo);
  }

  /**
   * Creates an attachable, internal swarm-scope overlay network: containers on it reach
   * each other but nothing outside (`Internal`: no gateway through docker_gwbridge), so
   * builds attached to it have no network but the farm.
   * @param encrypted adds the `encrypted` driver option (IPsec ESP between nodes)
   */
  async createOverlay(name: string, labels: Labels, encrypted: boolean): Promise<NetworkInfo> {
    log.docker('creating overlay network %s on %s', name, this.endpoint);
    await this.api.createNetwork({
      Name: name,
      Driver: 'overlay',
      Attachable: true,
      Internal: true,
      CheckDuplicate: true,
      Labels: labels,
      Options: encrypted ? { encrypted: '' } : {},
    });
    const net = await this.get(name);
    if (!net) throw new Error(`network ${name} vanished right after it was created`);
    log.docker('created overlay network %s (%s, %s)', name, net.id, net.subnets.join(','));
    return net;
  }

  /** Removes a network; an absent one counts as removed. */
  async remove(id: string): Promise<void> {
    log.docker('removing network %s', id);
    await idempotent(() => this.api.getNetwork(id).remove());
    log.docker('removed network %s', id);
  }
}

function toNetworkInfo(raw: unknown): NetworkInfo {
  const n = raw as {
    Id: string;
    Name: string;
    Driver?: string;
    Scope?: string;
    Labels?: Labels | null;
    Attachable?: boolean;
    Internal?: boolean;
    Options?: Record<string, string> | null;
    IPAM?: { Config?: { Subnet?: string }[] | null };
  };
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver ?? '',
    scope: n.Scope ?? '',
    labels: n.Labels ?? {},
    subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter(Boolean),
    encrypted: n.Options ? 'encrypted' in n.Options : false,
    attachable: Boolean(n.Attachable),
    internal: Boolean(n.Internal),
  };
}

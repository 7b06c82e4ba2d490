import type Docker from 'dockerode';
import { log } from '../log.js';
import { engineMessage, idempotent, statusOf } from './api-error.js';
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

  /**
   * The names of the endpoints this engine holds on a network (`Containers` of its
   * inspect: containers, and the `<network>-endpoint` of its load balancer); [] when absent.
   */
  async endpoints(id: string): Promise<string[]> {
    try {
      const raw = (await this.api.getNetwork(id).inspect()) as { Containers?: Record<string, { Name?: string }> | null };
      return Object.values(raw.Containers ?? {})
        .map((e) => e.Name ?? '')
        .filter(Boolean);
    } catch (err) {
      if (statusOf(err) === 404) return [];
      throw err;
    }
  }

  /**
   * Deletes an endpoint from this engine's copy of a network by its name, also one whose
   * container is gone (`POST /networks/{id}/disconnect` with Force: the engine's own
   * cleanup of endpoints left behind). An absent endpoint counts as done.
   */
  async forceDisconnect(id: string, endpoint: string): Promise<void> {
    log.docker('force-disconnecting %s from network %s on %s', endpoint, id, this.endpoint);
    await idempotent(() => this.api.getNetwork(id).disconnect({ Container: endpoint, Force: true }));
  }

  /**
   * Removes the networks carrying every `labels` pair that have no endpoint on this engine
   * (`POST /networks/prune`): the swarm's own are removed through the swarm (refused there
   * while in use), and this engine's copy of a swarm network the swarm has already deleted
   * is removed here — the one way to remove such a copy (a plain remove goes to the swarm,
   * which answers "not found").
   * @returns the names removed
   */
  async prune(labels: Labels): Promise<string[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const res = await this.api.pruneNetworks({ filters: { label } });
    // the Engine answers null when it removed none
    const removed = (res.NetworksDeleted as string[] | null) ?? [];
    log.docker('pruned networks %o on %s', removed, this.endpoint);
    return removed;
  }

  /**
   * Removes a network; an absent one counts as removed. A swarm network goes through the
   * swarm, which answers "network … not found" (HTTP 500) for one it has already deleted
   * even while this engine still lists its copy (networks.prune removes that).
   * @returns false when it was already absent (for the swarm, for a swarm network)
   */
  async remove(id: string): Promise<boolean> {
    log.docker('removing network %s', id);
    try {
      const removed = await idempotent(() => this.api.getNetwork(id).remove());
      log.docker(removed ? 'removed network %s' : 'network %s was already gone', id);
      return removed;
    } catch (err) {
      if (!/^network .* not found$/i.test(engineMessage(err).trim())) throw err;
      log.docker('network %s: %s', id, engineMessage(err));
      return false;
    }
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

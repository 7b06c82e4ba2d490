import type Docker from 'dockerode';
import { log, mask } from '../log.js';
import { engineMessage } from './api-error.js';

/** Options of `POST /swarm/init` iglu sets (Engine API 1.41 "SwarmInitRequest"). */
export interface SwarmInit {
  advertiseAddr: string;
  listenAddr: string;
  /** Default address pool for overlay subnets, CIDRs. */
  addrPool: string[];
  /** Prefix length of each overlay subnet carved from the pool. */
  subnetSize: number;
}

/** Options of `POST /swarm/join` (Engine API 1.41 "SwarmJoinRequest"). */
export interface SwarmJoin {
  /** The manager's address, host:port. */
  remoteAddr: string;
  token: string;
  advertiseAddr?: string;
  listenAddr: string;
}

/** Swarm membership of one engine. */
export class SwarmClient {
  constructor(
    private readonly api: Docker,
    private readonly endpoint: string,
  ) {}

  /** Initialises a new swarm with this engine as its manager. @returns the node ID */
  async init(opts: SwarmInit): Promise<string> {
    log.docker('initialising a swarm on %s advertised at %s', this.endpoint, opts.advertiseAddr);
    const id: unknown = await this.api.swarmInit({
      AdvertiseAddr: opts.advertiseAddr,
      ListenAddr: opts.listenAddr,
      DefaultAddrPool: opts.addrPool,
      SubnetSize: opts.subnetSize,
      ForceNewCluster: false,
    });
    log.docker('initialised swarm, node %s', id);
    return String(id).replace(/"/g, '').trim();
  }

  /** Joins this engine to a swarm as the token says (worker or manager). */
  async join(opts: SwarmJoin): Promise<void> {
    log.docker('joining %s to the swarm at %s with token %s', this.endpoint, opts.remoteAddr, mask(opts.token));
    await this.api.swarmJoin({
      RemoteAddrs: [opts.remoteAddr],
      JoinToken: opts.token,
      ListenAddr: opts.listenAddr,
      ...(opts.advertiseAddr ? { AdvertiseAddr: opts.advertiseAddr } : {}),
    });
    log.docker('%s joined the swarm', this.endpoint);
  }

  /** Leaves the swarm (forced, as a last manager must); leaving when in none is a no-op. */
  async leave(): Promise<void> {
    log.docker('%s leaving the swarm', this.endpoint);
    try {
      await this.api.swarmLeave({ force: true });
    } catch (err) {
      if (/not part of a swarm/i.test(engineMessage(err))) return;
      throw err;
    }
  }

  /** The worker join token and the manager's swarm address (host:port). Manager only. */
  async workerJoin(): Promise<{ token: string; managerAddr: string }> {
    const swarm = (await this.api.swarmInspect()) as { JoinTokens?: { Worker?: string } };
    const info = (await this.api.info()) as { Swarm?: { RemoteManagers?: { NodeID: string; Addr: string }[]; NodeID?: string } };
    const self = info.Swarm?.RemoteManagers?.find((m) => m.NodeID === info.Swarm?.NodeID) ?? info.Swarm?.RemoteManagers?.[0];
    return { token: swarm.JoinTokens?.Worker ?? '', managerAddr: self?.Addr ?? '' };
  }
}

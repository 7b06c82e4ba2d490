import { IgluError } from '../errors.js';
import { log } from '../log.js';
import { engineMessage } from './api-error.js';
import { dockerode } from './connect.js';
import { ContainersClient } from './containers.js';
import { ImagesClient } from './images.js';
import { NetworksClient } from './networks.js';
import { NodesClient } from './nodes.js';
import { ServicesClient } from './services.js';
import { SwarmClient } from './swarm.js';
import { TasksClient } from './tasks.js';
import { VolumesClient } from './volumes.js';
import type { EngineInfo } from './types.js';

/**
 * One Docker Engine, reached at `endpoint`, with a small client per resource. This
 * module and its siblings in src/docker/ are the only importers of dockerode.
 */
export class Engine {
  readonly swarm: SwarmClient;
  readonly nodes: NodesClient;
  readonly services: ServicesClient;
  readonly tasks: TasksClient;
  readonly networks: NetworksClient;
  readonly images: ImagesClient;
  readonly containers: ContainersClient;
  readonly volumes: VolumesClient;

  /** @param endpoint unix://, tcp:// or ssh:// URL (see connect.ts) */
  constructor(readonly endpoint: string) {
    const api = dockerode(endpoint);
    this.swarm = new SwarmClient(api, endpoint);
    this.nodes = new NodesClient(api, endpoint);
    this.services = new ServicesClient(api, endpoint);
    this.tasks = new TasksClient(api);
    this.networks = new NetworksClient(api, endpoint);
    this.images = new ImagesClient(api, endpoint);
    this.containers = new ContainersClient(api, endpoint);
    this.volumes = new VolumesClient(api, endpoint);
    this.infoCall = async () => toEngineInfo(await api.info());
  }

  private readonly infoCall: () => Promise<EngineInfo>;

  /**
   * `GET /info`: engine ID, name, version, CPUs, memory and swarm membership.
   * @throws IgluError "Docker Engine not reachable" with what to do
   */
  async info(): Promise<EngineInfo> {
    try {
      return await this.infoCall();
    } catch (err) {
      throw unreachable(this.endpoint, err);
    }
  }
}

/** Opens an engine and checks it answers. @throws IgluError when it does not */
export async function openEngine(endpoint: string): Promise<Engine> {
  const engine = new Engine(endpoint);
  const info = await engine.info();
  log.docker('engine %s: %s, Docker %s, swarm %s', endpoint, info.name, info.serverVersion, info.swarm.state);
  return engine;
}

function unreachable(endpoint: string, cause: unknown): IgluError {
  return new IgluError(`Docker Engine not reachable at ${endpoint}: ${engineMessage(cause)}`, {
    hint: 'start it (apt-get install docker.io; dockerd &), or point iglu at another one with ' + 'DOCKER_HOST, docker.host in iglu.yaml, or --docker-host',
    cause,
  });
}

function toEngineInfo(raw: unknown): EngineInfo {
  const i = raw as {
    ID?: string;
    Name?: string;
    ServerVersion?: string;
    NCPU?: number;
    MemTotal?: number;
    Swarm?: { LocalNodeState?: string; NodeID?: string; NodeAddr?: string; ControlAvailable?: boolean };
  };
  return {
    id: i.ID ?? '',
    name: i.Name ?? '',
    serverVersion: i.ServerVersion ?? '',
    cpus: i.NCPU ?? 0,
    memoryBytes: i.MemTotal ?? 0,
    swarm: {
      state: i.Swarm?.LocalNodeState ?? 'inactive',
      nodeId: i.Swarm?.NodeID ?? '',
      nodeAddr: i.Swarm?.NodeAddr ?? '',
      isManager: Boolean(i.Swarm?.ControlAvailable),
    },
  };
}

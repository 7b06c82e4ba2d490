import type { FarmConfig } from '../config/schema.js';
import type { Engine, NetworkInfo } from '../docker/index.js';
import { runningKernelConfig } from '../host/kernel.js';
import { resolveFarmImage } from '../image/build.js';
import { LABEL, RUN_ID } from '../labels.js';
import { drainService } from './drain.js';
import { CLEANUP_TIMEOUT_MS, removeContainers, removeNetworks } from './down.js';
import type { Step } from '../steps.js';
import { distributeImage } from './distribute.js';
import { farmSlots, type FarmHost } from './hosts.js';
import { managerHostList } from './status.js';
import { ensureNetwork, refuseEncryption } from './network.js';
import { clearStaleNetwork } from './stale-network.js';
import { joinNodes, type FarmNode } from './nodes.js';
import { waitForFarm } from './ready.js';
import { farmServiceSpec } from './service-spec.js';
import { loadFarmStack, type FarmStack } from './stack.js';
import { ensureService } from './service.js';
import { serviceName, withStackMode } from './settings.js';
import { ensureSwarm } from './swarm.js';

/** What `farm up` did and what the farm is now (the --json shape of `farm up`/`scale`). */
export interface FarmUpResult {
  farm: string;
  swarm: 'initialised' | 'existing';
  joined: string[];
  network: { name: string; subnets: string[]; created: boolean };
  image: { id: string; ref: string; copiedTo: string[] };
  service: { name: string; change: 'created' | 'updated' | 'unchanged' };
  hosts: FarmHost[];
  distccHosts: string;
  slots: number;
}

/** What the `farm up` steps learn and make, filled in step by step. */
export interface UpState {
  swarm?: 'initialised' | 'existing';
  nodes?: FarmNode[];
  network?: NetworkInfo & { created: boolean };
  image?: { id: string; ref: string; copiedTo: string[] };
  change?: 'created' | 'updated' | 'unchanged';
  hosts?: FarmHost[];
  /** DISTCC_HOSTS for builds on this manager (status.ts: hostListFor). */
  distccHosts?: string;
  /** The farm's stack (stacks/farm.yaml with farm.stack over it). */
  stack?: FarmStack;
  /** The farm's settings with the mode decided (iglu.yaml and the flags win over the stack file). */
  decided?: FarmConfig;
  /**
   * The work of the steps that make what a rollback removes (network, service, the ready
   * wait's probe container). Ctrl-C ends a step at once (runSteps) while its Engine calls
   * may still be under way: rollbackUp waits for these first, so it sees what they made.
   */
  making?: Promise<unknown>[];
}

/** Registers a step's work in `s.making` and returns it. */
function making<T>(s: UpState, work: Promise<T>): Promise<T> {
  (s.making ??= []).push(work);
  return work;
}

/**
 * The steps of `iglu farm up`, in order: preflight, swarm, nodes, network and image (at
 * once), service, ready.
 * Each is idempotent: with nothing changed, a rerun only reads state and probes.
 * @param configuredImage the image iglu.yaml describes (configuredImageRef), used when
 *   farm.image names none and the engine has it; else the newest farm image
 */
export function farmUpSteps(manager: Engine, farm: FarmConfig, signal?: AbortSignal, configuredImage?: string): Step<UpState>[] {
  const timeoutMs = farm.readyTimeout * 1000;
  return [
    {
      title: 'preflight',
      run: async (s) => {
        // everything that can be refused is checked before anything is made
        refuseEncryption(farm, await runningKernelConfig());
        s.stack = await loadFarmStack(farm.stack);
        s.decided = withStackMode(farm, s.stack);
        const image = await resolveFarmImage(manager, farm.image ?? s.stack.image, configuredImage);
        s.image = { ...image, copiedTo: [] };
        return `farm image ${image.ref}`;
      },
    },
    {
      title: 'swarm',
      run: async (s) => {
        s.swarm = await ensureSwarm(manager, farm);
        return s.swarm === 'initialised' ? 'initialised a new swarm' : 'using the existing swarm';
      },
    },
    {
      title: 'join the nodes in iglu.yaml',
      skip: () => (farm.nodes.length === 0 ? 'no farm.nodes in iglu.yaml' : false),
      run: async (s) => {
        s.nodes = await joinNodes(manager, farm.nodes, timeoutMs);
        return `${s.nodes.filter((n) => n.joined).length} joined, ${s.nodes.length} Ready`;
      },
    },
    networkAndImageStep(manager, farm),
    serviceStep(manager, farm),
    readyStep(manager, farm, signal),
  ];
}

/** The overlay network and the image on every node, at once: the network is the manager's, the image goes to the other engines. */
function networkAndImageStep(manager: Engine, farm: FarmConfig): Step<UpState> {
  return {
    title: `overlay network ${farm.network}; farm image on every node`,
    run: async (s, output) => {
      const image = s.image!;
      output(`${image.ref} to ${s.nodes?.length ?? 0} other engines`);
      const engines = (s.nodes ?? []).map((n) => n.engine);
      let cleared: Awaited<ReturnType<typeof clearStaleNetwork>>;
      const made = making(
        s,
        clearStaleNetwork(manager, farm, [manager, ...engines]).then(async (c) => {
          cleared = c;
          const { network, created } = await ensureNetwork(manager, farm);
          return (s.network = { ...network, created });
        }),
      );
      const [network, copies] = await Promise.all([made, distributeImage(manager, engines, image)]);
      const copiedTo = copies.filter((c) => c.copied).map((c) => c.endpoint);
      s.image = { ...image, copiedTo };
      return `${describeCleared(cleared)}network ${network.created ? 'created' : 'exists'}, ${network.subnets.join(' ')}; ${image.ref} copied to ${copiedTo.length} of ${copies.length} other engines`;
    },
  };
}

/** What clearStaleNetwork did, as the start of the network step's line ('' when nothing). */
function describeCleared(c: Awaited<ReturnType<typeof clearStaleNetwork>>): string {
  if (!c) return '';
  const jobs = c.jobs.length ? `, after removing ${c.jobs.length} build job containers left running by a killed spread build` : '';
  return c.stale
    ? `network ${c.network} was kept by this engine after the swarm had deleted it: cleared${jobs}; `
    : `network ${c.network} had outlived its farm's services: removed${jobs}; `;
}

function serviceStep(manager: Engine, farm: FarmConfig): Step<UpState> {
  return {
    title: `service ${serviceName(farm)}`,
    run: async (s) => {
      const decided = s.decided ?? farm;
      const spec = farmServiceSpec(decided, s.image!.id, s.network!.subnets, s.stack!);
      await making(
        s,
        ensureService(manager, spec).then((change) => (s.change = change)),
      );
      return `${s.change} (stack ${farm.name}: ${decided.global ? 'global' : `${decided.replicas} replicas`})`;
    },
  };
}

function readyStep(manager: Engine, farm: FarmConfig, signal: AbortSignal | undefined): Step<UpState> {
  return {
    title: 'tasks running and accepting compiles',
    run: async (s) => {
      s.hosts = await making(
        s,
        waitForFarm(manager, s.decided ?? farm, s.image!.id, {
          signal,
          whileProbing: (hosts) => managerHostList(manager, farm, hosts).then((list) => void (s.distccHosts = list)),
        }),
      );
      return `${s.hosts.length} tasks, ${farmSlots(s.hosts)} slots`;
    },
  };
}

/** Shapes the state after the steps into the result. */
export function upResult(farm: FarmConfig, s: UpState): FarmUpResult {
  return {
    farm: farm.name,
    swarm: s.swarm!,
    joined: (s.nodes ?? []).filter((n) => n.joined).map((n) => n.config.endpoint),
    network: { name: farm.network, subnets: s.network!.subnets, created: s.network!.created },
    image: s.image!,
    service: { name: serviceName(farm), change: s.change! },
    hosts: s.hosts!,
    distccHosts: s.distccHosts!,
    slots: farmSlots(s.hosts!),
  };
}

/**
 * Undoes what a failed or interrupted `farm up` made in this run: the service if it
 * created it, then the network if it created it. A swarm it initialised stays (`farm down
 * --leave` ends it). It first waits for the steps' work still under way (`s.making`: a
 * Ctrl-C while the service is being created would otherwise find no service to remove,
 * and the network would be refused as "in use by service"); their failures are the
 * failed step's business and are not thrown again here.
 * @throws IgluError when the service's containers or the network outlast CLEANUP_TIMEOUT_MS
 */
export async function rollbackUp(manager: Engine, farm: FarmConfig, s: UpState): Promise<void> {
  await Promise.allSettled(s.making ?? []);
  const label = { [LABEL.farm]: farm.name };
  const timeoutMs = CLEANUP_TIMEOUT_MS;
  const service = s.change === 'created' ? await manager.services.get(serviceName(farm)) : undefined;
  if (service) {
    await drainService(manager, service, timeoutMs);
    await manager.services.remove(service.id);
    await removeContainers(manager, label, timeoutMs);
  }
  if (s.network?.created) await removeNetworks(manager, { ...label, [LABEL.run]: RUN_ID }, timeoutMs);
}

import type { FarmConfig } from '../config/schema.js';
import { Engine, engineMessage } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { LABEL } from '../labels.js';
import { log } from '../log.js';
import { waitFor } from '../util/wait.js';
import { drainService } from './drain.js';
import { dropStaleNetworks, removeOrphanJobs, STALE_AFTER_MS } from './stale-network.js';

/** How long teardown waits for task containers to stop and networks to go (ms). */
export const CLEANUP_TIMEOUT_MS = 60_000;

/** What `farm down` removed (its --json shape). */
export interface FarmDownResult {
  farm: string;
  services: string[];
  containers: string[];
  networks: string[];
  left: string[];
  /** The package store's volume: removed with `purge`, else kept for the next farm. */
  volumes: { removed: string[]; kept: string[] };
  /** Node engines from iglu.yaml that did not answer (their containers could not be checked). */
  unreachable: string[];
  /** Containers of build jobs the swarm left running once their service was removed (a killed spread build's): removed with force. */
  orphanJobs: string[];
  /** Networks this engine kept after the swarm had deleted them (dropStaleNetworks): cleared. */
  staleNetworks: string[];
}

/**
 * Removes every service, container and network labelled with this farm's name, and with
 * `purge` its volumes (the package store's: kept otherwise, so the next farm still has
 * what was built); with `leave`, the node engines in iglu.yaml and then the manager leave the swarm. Removing
 * what is already gone is not an error, so `down` can always be rerun.
 * @throws IgluError when a network still has endpoints after `timeoutMs`
 */
export async function farmDown(manager: Engine, farm: FarmConfig, opts: { leave: boolean; timeoutMs: number; purge?: boolean }): Promise<FarmDownResult> {
  const label = { [LABEL.farm]: farm.name };
  const info = await manager.info();
  const result: FarmDownResult = {
    farm: farm.name,
    services: [],
    containers: [],
    networks: [],
    left: [],
    volumes: { removed: [], kept: [] },
    unreachable: [],
    orphanJobs: [],
    staleNetworks: [],
  };
  if (info.swarm.state === 'active' && info.swarm.isManager) {
    for (const s of await manager.services.list(label)) {
      // a drain that fails (a service changed under it) must not stop the teardown
      await drainService(manager, s, opts.timeoutMs).catch((err: unknown) => log.farm('drain of %s failed: %s', s.name, String(err)));
      await manager.services.remove(s.id).catch((err: unknown) => {
        if (!/no such service|not found/i.test(engineMessage(err))) throw err;
      });
      result.services.push(s.name);
    }
  }
  const { engines, unreachable } = await farmEngines(manager, farm);
  result.unreachable.push(...unreachable);
  // before waiting for the task containers to stop: the swarm never stops these
  if (info.swarm.state === 'active' && info.swarm.isManager) result.orphanJobs.push(...(await removeOrphanJobs(manager, engines, farm.name)));
  for (const engine of engines) result.containers.push(...(await removeContainers(engine, label, opts.timeoutMs)));
  const networks = await removeNetworks(manager, label, opts.timeoutMs);
  result.networks.push(...networks.removed);
  result.staleNetworks.push(...networks.stale);
  for (const v of await manager.volumes.list(label)) {
    if (opts.purge) await manager.volumes.remove(v.name);
    (opts.purge ? result.volumes.removed : result.volumes.kept).push(v.name);
  }
  if (opts.leave) {
    for (const node of farm.nodes.filter((n) => !result.unreachable.includes(n.endpoint))) {
      const engine = new Engine(node.endpoint);
      await engine.swarm.leave().catch((err: unknown) => {
        throw new IgluError(`node ${node.endpoint} could not leave the swarm: ${engineMessage(err)}`, {
          hint: 'check that its dockerd runs, then rerun "iglu farm down --leave"',
          cause: err,
        });
      });
      result.left.push(node.endpoint);
      await removeGatewayBridge(engine);
    }
    if (info.swarm.state !== 'inactive') {
      await manager.swarm.leave();
      result.left.push(manager.endpoint);
    }
    await removeGatewayBridge(manager);
  }
  return result;
}

/** The manager's engine and the node engines in iglu.yaml that answer; the endpoints of those that do not. */
async function farmEngines(manager: Engine, farm: FarmConfig): Promise<{ engines: Engine[]; unreachable: string[] }> {
  const engines = [manager];
  const unreachable: string[] = [];
  for (const node of farm.nodes) {
    const engine = new Engine(node.endpoint);
    const alive = await engine.info().then(
      () => true,
      () => false,
    );
    if (alive) engines.push(engine);
    else unreachable.push(node.endpoint);
  }
  return { engines, unreachable };
}

/**
 * Removes this farm's containers on one engine: iglu's own (probes, clients) and task
 * containers that have ended at once, and waits for the swarm to stop and remove the
 * running task containers of the removed services.
 * @returns the names of the containers that were there
 */
export async function removeContainers(engine: Engine, label: Record<string, string>, timeoutMs: number): Promise<string[]> {
  const names = new Set<string>();
  await waitFor(
    async () => {
      const left = await engine.containers.list(label).catch((err: unknown) => {
        throw new IgluError(`node ${engine.endpoint} does not answer: ${engineMessage(err)}`, {
          hint: 'start its dockerd, or remove it from farm.nodes in iglu.yaml',
          cause: err,
        });
      });
      for (const c of left) {
        names.add(c.name);
        // a task container that has ended is left by the swarm when its service goes (a
        // completed replicated job's, Docker 20.10): its service is gone, so it is removed here
        if (!c.labels['com.docker.swarm.task.id'] || c.state !== 'running') await engine.containers.remove(c.id);
      }
      return left.length === 0 ? true : undefined;
    },
    { timeoutMs, what: `the farm's containers on ${engine.endpoint} to stop`, hint: 'see "docker ps -a --filter label=iglu.farm"' },
  );
  return [...names];
}

/**
 * Removes the networks carrying `label` and waits until they are gone. A network keeps
 * its endpoints until the task containers on it have stopped, so removal is retried. One
 * still listed here STALE_AFTER_MS after the swarm accepted its removal is a copy this
 * engine kept (an endpoint held it when the swarm deleted it): it is cleared
 * (dropStaleNetworks).
 * @returns the removed networks' names, and those of them that were stale copies
 * @throws IgluError when one still has endpoints after `timeoutMs`
 */
export async function removeNetworks(manager: Engine, label: Record<string, string>, timeoutMs: number): Promise<{ removed: string[]; stale: string[] }> {
  const names: string[] = [];
  for (const n of await manager.networks.list(label)) {
    await waitFor(
      async () => {
        try {
          await manager.networks.remove(n.id);
          return true;
        } catch (err) {
          if (/active endpoints/i.test(engineMessage(err))) return undefined;
          throw err;
        }
      },
      { timeoutMs, what: `network ${n.name} to lose its endpoints`, hint: `see "docker network inspect ${n.name}"` },
    );
    names.push(n.name);
  }
  const stale: string[] = [];
  const since = Date.now();
  let cleared = false;
  await waitFor(
    async () => {
      const left = (await manager.networks.list(label)).map((n) => n.name);
      if (!left.length) return true;
      if (Date.now() - since >= STALE_AFTER_MS && !cleared) {
        cleared = true;
        stale.push(...(await dropStaleNetworks(manager, label, left)));
      }
      return undefined;
    },
    { timeoutMs, what: 'the farm networks to disappear', hint: 'see "docker network ls"' },
  );
  return { removed: names, stale };
}

/**
 * Removes docker_gwbridge, the bridge the Engine makes for swarm tasks and leaves behind
 * after `swarm leave`. Best effort: a bridge still in use stays (the Engine makes it again
 * when the engine next joins a swarm).
 */
async function removeGatewayBridge(engine: Engine): Promise<void> {
  const bridge = await engine.networks.get('docker_gwbridge');
  if (bridge) await engine.networks.remove(bridge.id).catch(() => undefined);
}

import type { FarmConfig } from '../config/schema.js';
import { Engine } from '../docker/index.js';
import { engineMessage } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { LABEL } from '../labels.js';
import { waitFor } from '../util/wait.js';

/** What `farm down` removed (its --json shape). */
export interface FarmDownResult {
  farm: string;
  services: string[];
  containers: string[];
  networks: string[];
  left: string[];
}

/**
 * Removes every service, container and network labelled with this farm's name; with
 * `leave`, the node engines in iglu.yaml and then the manager leave the swarm. Removing
 * what is already gone is not an error, so `down` can always be rerun.
 * @throws IgluError when a network still has endpoints after `timeoutMs`
 */
export async function farmDown(manager: Engine, farm: FarmConfig, opts: { leave: boolean; timeoutMs: number }): Promise<FarmDownResult> {
  const label = { [LABEL.farm]: farm.name };
  const info = await manager.info();
  const result: FarmDownResult = { farm: farm.name, services: [], containers: [], networks: [], left: [] };
  if (info.swarm.state === 'active' && info.swarm.isManager) {
    for (const s of await manager.services.list(label)) {
      await manager.services.remove(s.id);
      result.services.push(s.name);
    }
  }
  const engines = [manager, ...farm.nodes.map((n) => new Engine(n.endpoint))];
  for (const engine of engines) result.containers.push(...(await removeContainers(engine, label, opts.timeoutMs)));
  for (const n of await manager.networks.list(label)) {
    // the tasks' containers detach from the overlay only once they have stopped
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
      { timeoutMs: opts.timeoutMs, what: `network ${n.name} to lose its endpoints`, hint: `see "docker network inspect ${n.name}"` },
    );
    result.networks.push(n.name);
  }
  await waitFor(async () => ((await manager.networks.list(label)).length === 0 ? true : undefined), {
    timeoutMs: opts.timeoutMs, what: 'the farm networks to disappear', hint: 'see "docker network ls"',
  });
  if (opts.leave) {
    for (const node of farm.nodes) {
      const engine = new Engine(node.endpoint);
      await engine.swarm.leave().catch((err: unknown) => {
        throw new IgluError(`node ${node.endpoint} could not leave the swarm: ${engineMessage(err)}`, { hint: 'check that its dockerd runs, then rerun "iglu farm down --leave"', cause: err });
      });
      result.left.push(node.endpoint);
    }
    if (info.swarm.state !== 'inactive') {
      await manager.swarm.leave();
      result.left.push(manager.endpoint);
    }
  }
  return result;
}

/**
 * Removes this farm's containers on one engine: iglu's own (probes, clients) at once,
 * and waits for the swarm to remove the task containers of the removed services.
 * @returns the names of the containers that were there
 */
async function removeContainers(engine: Engine, label: Record<string, string>, timeoutMs: number): Promise<string[]> {
  const names = new Set<string>();
  await waitFor(
    async () => {
      const left = await engine.containers.list(label).catch((err: unknown) => {
        throw new IgluError(`node ${engine.endpoint} does not answer: ${engineMessage(err)}`, { hint: 'start its dockerd, or remove it from farm.nodes in iglu.yaml', cause: err });
      });
      for (const c of left) {
        names.add(c.name);
        if (!c.labels['com.docker.swarm.task.id']) await engine.containers.remove(c.id);
      }
      return left.length === 0 ? true : undefined;
    },
    { timeoutMs, what: `the farm's containers on ${engine.endpoint} to stop`, hint: 'see "docker ps -a --filter label=iglu.farm"' },
  );
  return [...names];
}

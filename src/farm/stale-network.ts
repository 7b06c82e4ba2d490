import type { FarmConfig } from '../config/schema.js';
import { engineMessage, type Engine, type Labels } from '../docker/index.js';
import { LABEL } from '../labels.js';
import { log } from '../log.js';
import { waitFor } from '../util/wait.js';

/**
 * How long a farm network whose removal the swarm accepted may stay listed on this engine
 * before it is taken for a stale copy (ms). The engine removes its copy within a second
 * or so when nothing holds it.
 */
export const STALE_AFTER_MS = 5_000;

/**
 * Removes the containers of spread build jobs (role "build") of `farm` whose service the
 * swarm no longer has, on every engine in `engines`. A job whose service is removed while
 * it runs — its run was killed with kill -9, then `farm down` — keeps running (Docker
 * 20.10: the swarm stops a removed job's task only after a restart of its engine), its
 * endpoint holding the farm's network; nobody can take its result any more. Running or
 * not, each is removed with force.
 * @param manager a manager engine (the swarm's services are read there)
 * @returns the names removed
 */
export async function removeOrphanJobs(manager: Engine, engines: Engine[], farm: string): Promise<string[]> {
  const live = new Set((await manager.services.list({ [LABEL.farm]: farm })).map((s) => s.id));
  const removed: string[] = [];
  for (const engine of engines) {
    for (const c of await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' }).catch(() => [])) {
      const service = c.labels['com.docker.swarm.service.id'];
      if (!service || live.has(service)) continue;
      await engine.containers.remove(c.id).then(
        () => removed.push(c.name),
        (err: unknown) => log.farm('orphaned job container %s: %s', c.name, String(err)),
      );
    }
  }
  if (removed.length) log.farm('removed job containers whose service is gone: %o', removed);
  return removed;
}

/**
 * Removes this engine's copies of the networks carrying `labels` that the swarm has
 * deleted while an endpoint still held them (a killed build's job, the load balancer's
 * `<network>-endpoint`): the engine keeps such a copy for good ("should be removed, but
 * still has active attachments"), a plain remove of it answers "not found", and a new
 * service on a network of that name fails with "network … not found". Each endpoint left
 * on it is deleted with force, then the copies are pruned (networks.prune).
 * @param names the networks to clear (their removal was accepted or answered "not found")
 * @returns the names removed
 */
export async function dropStaleNetworks(engine: Engine, labels: Labels, names: string[]): Promise<string[]> {
  for (const name of names) {
    for (const endpoint of await engine.networks.endpoints(name)) {
      await engine.networks.forceDisconnect(name, endpoint).catch((err: unknown) => log.farm('endpoint %s on %s: %s', endpoint, name, engineMessage(err)));
    }
  }
  const pruned = await engine.networks.prune(labels);
  log.farm('stale networks %o: pruned %o', names, pruned);
  return pruned.filter((n) => names.includes(n));
}

/**
 * Before `farm up` makes its network: when the farm has no service left (it is down) but
 * its network is still on this engine, removes that network, first the orphaned job
 * containers holding it (removeOrphanJobs); a copy the swarm had already deleted is
 * cleared (dropStaleNetworks), so the service is created on a network the swarm knows.
 * A network the swarm refuses to remove (still in use) is left as it is.
 * @param engines the engines whose job containers are checked (the manager's, farm.nodes')
 * @returns what was removed, and whether the network was a stale copy; undefined when
 *   nothing needed doing
 */
export async function clearStaleNetwork(
  manager: Engine,
  farm: FarmConfig,
  engines: Engine[],
): Promise<{ network: string; stale: boolean; jobs: string[] } | undefined> {
  const net = await manager.networks.get(farm.network);
  if (!net || net.labels[LABEL.farm] !== farm.name) return undefined;
  if ((await manager.services.list({ [LABEL.farm]: farm.name })).length) return undefined;
  const jobs = await removeOrphanJobs(manager, engines, farm.name);
  let known: boolean;
  try {
    known = await manager.networks.remove(net.id);
  } catch (err) {
    log.farm('network %s of a farm with no service stays: %s', net.name, engineMessage(err));
    return undefined;
  }
  // the swarm had no such network: this engine's copy is stale; else it goes within seconds unless held
  const gone =
    known &&
    (await waitFor(async () => ((await manager.networks.get(farm.network)) ? undefined : true), {
      timeoutMs: STALE_AFTER_MS,
      what: `network ${farm.network} to go`,
      hint: '',
    }).catch(() => false));
  if (!gone) await dropStaleNetworks(manager, { [LABEL.farm]: farm.name }, [net.name]);
  return { network: net.name, stale: !gone, jobs };
}

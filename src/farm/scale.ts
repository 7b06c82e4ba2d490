import type { FarmConfig } from '../config/schema.js';
import type { Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { waitForFarm } from './ready.js';
import { farmServiceSpec } from './service-spec.js';
import { loadFarmStack } from './stack.js';
import { serviceName } from './settings.js';
import type { FarmHost } from './hosts.js';

/**
 * Sets the distccd service's replica count and waits as `farm up` does. The new spec is
 * the one `farm up --replicas N` would make (distccdServiceSpec from the farm's settings,
 * its image and its overlay's subnets), so its iglu.spec hash is the same and a later
 * `farm up --replicas N` finds nothing to change.
 * `signal` ends the wait.
 * @throws IgluError when there is no farm, it runs in global mode, or its network is gone
 */
export async function scaleFarm(engine: Engine, farm: FarmConfig, replicas: number, signal?: AbortSignal): Promise<FarmHost[]> {
  const name = serviceName(farm);
  const service = await engine.services.get(name);
  if (!service) throw new IgluError(`there is no farm "${farm.name}" (no service ${name})`, { hint: 'start one with "iglu farm up"' });
  if (service.global)
    throw new IgluError(`farm "${farm.name}" runs one task per node (global mode)`, { hint: 'use "iglu farm up --replicas N" to switch it to N replicas' });
  const image = service.spec.TaskTemplate.ContainerSpec.Image;
  if (service.replicas !== replicas) {
    const network = await engine.networks.get(farm.network);
    if (!network?.subnets.length)
      throw new IgluError(`farm "${farm.name}" has no overlay network ${farm.network}`, { hint: 'run "iglu farm up" to repair the farm' });
    const spec = farmServiceSpec({ ...farm, global: false, replicas }, image, network.subnets, await loadFarmStack(farm.stack));
    await engine.services.update(service.id, service.version, spec);
  }
  return waitForFarm(engine, { ...farm, global: false, replicas }, image, { signal });
}

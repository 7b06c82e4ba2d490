import type { FarmConfig } from '../config/schema.js';
import type { Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { LABEL } from '../labels.js';
import { waitForFarm } from './ready.js';
import { specHash } from './service-spec.js';
import { serviceName } from './settings.js';
import type { FarmHost } from './hosts.js';

/**
 * Sets the distccd service's replica count and waits as `farm up` does.
 * @throws IgluError when there is no farm, or it runs in global mode
 */
export async function scaleFarm(engine: Engine, farm: FarmConfig, replicas: number): Promise<FarmHost[]> {
  const name = serviceName(farm);
  const service = await engine.services.get(name);
  if (!service) throw new IgluError(`there is no farm "${farm.name}" (no service ${name})`, { hint: 'start one with "iglu farm up"' });
  if (service.global) throw new IgluError(`farm "${farm.name}" runs one task per node (global mode)`, { hint: 'use "iglu farm up --replicas N" to switch it to N replicas' });
  const image = (service.spec.TaskTemplate as { ContainerSpec: { Image: string } }).ContainerSpec.Image;
  if (service.replicas !== replicas) {
    const spec: Record<string, unknown> = { ...service.spec, Mode: { Replicated: { Replicas: replicas } } };
    spec.Labels = { ...(spec.Labels as Record<string, string>), [LABEL.spec]: specHash(spec) };
    await engine.services.update(service.id, service.version, spec);
  }
  return waitForFarm(engine, { ...farm, global: false, replicas }, image);
}

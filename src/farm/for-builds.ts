import type { FarmConfig } from '../config/schema.js';
import type { Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { farmStatus, type FarmStatus } from './status.js';
import { serviceName } from './settings.js';
import { sweepDeadContainers } from './leftovers.js';

/** A farm builds can use: its status (tasks, DISTCC_HOSTS, slots) and its service's image. */
export interface BuildFarm {
  status: FarmStatus;
  /** The image the distccd tasks run (TaskTemplate.ContainerSpec.Image), used for build containers. */
  image: string;
}

/**
 * Checks that a farm is fit for builds on its overlay: the distccd service exists and
 * names an image, the overlay is internal (builds attached to it reach nothing but the
 * farm), and — unless `tasksOptional` — tasks are running. Containers that killed iglu
 * processes left on the farm are removed first (sweepDeadContainers).
 * @throws IgluError for no farm (hint: `noFarmHint`), a service without an image, a
 *   non-internal overlay, or no running tasks
 */
export async function farmForBuilds(engine: Engine, farm: FarmConfig, opts: { tasksOptional?: boolean; noFarmHint: string }): Promise<BuildFarm> {
  // containers of a build or reader that was killed go first (their owner is gone)
  await sweepDeadContainers(engine, farm.name);
  const status = await farmStatus(engine, farm);
  const service = status.service ? await engine.services.get(status.service.name) : undefined;
  if (!service) throw new IgluError(`no farm is up: the service ${serviceName(farm)} does not exist`, { hint: opts.noFarmHint });
  const image = (service.spec as { TaskTemplate?: { ContainerSpec?: { Image?: string } } }).TaskTemplate?.ContainerSpec?.Image;
  if (!image) throw new IgluError(`the service ${service.name} names no image`, { hint: 'run iglu farm up again' });
  const net = await engine.networks.get(farm.network);
  if (net && !net.internal) {
    throw new IgluError(`the farm's overlay network ${net.name} is not internal: builds attached to it could reach other networks`, {
      hint: 'recreate it with iglu farm down && iglu farm up (iglu makes internal overlays)',
    });
  }
  if (!opts.tasksOptional && status.hosts.length === 0)
    throw new IgluError(`the farm ${farm.name} has no running tasks`, { hint: 'see iglu farm status; iglu farm up (or farm scale N) starts them' });
  return { status, image };
}

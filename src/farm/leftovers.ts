import type { Engine } from '../docker/index.js';
import { LABEL } from '../labels.js';
import { log } from '../log.js';
import { OWNER_LABEL, ownerGoneHere } from '../util/owner.js';

/**
 * Removes the containers an iglu process killed on this machine (kill -9, a crash) left on
 * a farm's manager engine — a toolchain client with whatever its recipe started, a `farm
 * top` reader, a `--farm` build container — whose `iglu.owner` label names a process of
 * this boot that no longer runs (util/owner.ts). Containers of a live process, of another
 * machine's iglu, without the label, and swarm task containers are left alone. Best
 * effort: a container that cannot be removed is logged and left to `farm down`.
 * @returns the names removed
 */
export async function sweepDeadContainers(engine: Engine, farm: string): Promise<string[]> {
  const removed: string[] = [];
  for (const c of await engine.containers.list({ [LABEL.farm]: farm }).catch(() => [])) {
    if (c.labels['com.docker.swarm.task.id'] || !ownerGoneHere(c.labels[OWNER_LABEL])) continue;
    await engine.containers.remove(c.id).then(
      () => removed.push(c.name),
      (err: unknown) => log.farm('leftover %s: %s', c.name, String(err)),
    );
  }
  if (removed.length) log.farm('removed containers of runs that are gone: %o', removed);
  return removed;
}

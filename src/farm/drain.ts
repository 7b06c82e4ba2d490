import type { Engine, ServiceInfo } from '../docker/index.js';
import { log } from '../log.js';
import { waitFor } from '../util/wait.js';

/** Task states after which the task's container no longer runs or will never be made. */
const SETTLED = new Set(['shutdown', 'complete', 'failed', 'rejected', 'orphaned', 'remove']);

/**
 * Stops a service's tasks before it is removed: sets replicas to 0 (a global service gets
 * a placement constraint no node matches) and waits until every task has settled. Removing
 * a service with tasks still being prepared lets their containers appear after the
 * removal; draining first makes teardown see every container it must wait for.
 * A node that never answers (down) would keep its task unsettled: after `timeoutMs` the
 * drain gives up quietly and removal goes on.
 */
export async function drainService(engine: Engine, service: ServiceInfo, timeoutMs: number): Promise<void> {
  const spec: Record<string, unknown> = { ...service.spec };
  if (service.global) {
    const template = spec.TaskTemplate as { Placement?: { Constraints?: string[] } };
    spec.TaskTemplate = { ...template, Placement: { ...template.Placement, Constraints: ['node.id==iglu-drained'] } };
  } else {
    spec.Mode = { Replicated: { Replicas: 0 } };
  }
  await engine.services.update(service.id, service.version, spec);
  await waitFor(async () => ((await engine.tasks.list(service.id)).every((t) => SETTLED.has(t.state)) ? true : undefined), {
    timeoutMs,
    what: `the tasks of ${service.name} to stop`,
    hint: 'a node that is down keeps its task unsettled; removal goes on regardless',
  }).catch((err: unknown) => log.farm('drain of %s incomplete: %s', service.name, String(err)));
}

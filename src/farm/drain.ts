import type { Engine, ServiceInfo, ServiceSpec, TaskInfo } from '../docker/index.js';
import { log } from '../log.js';
import { waitFor } from '../util/wait.js';

/** Task states after which the task's container no longer runs or will never be made. */
const SETTLED = new Set(['shutdown', 'complete', 'failed', 'rejected', 'orphaned', 'remove']);
/** Task states before the scheduler assigned the task to a node: no agent has it, no container exists. */
const UNASSIGNED = new Set(['new', 'allocated', 'pending']);
/** Desired states the orchestrator gives a task it scales away, replaces or removes. */
const STOPPING = new Set(['shutdown', 'remove']);

/**
 * Whether a task's container has stopped or will never be made: an ended state, or a task
 * still unassigned whose desired state is past running. The scheduler skips such a task
 * for good ("tasks that have not yet been assigned but desired state is beyond
 * TaskStateCompleted … if you … scale down a service before its tasks were assigned",
 * SwarmKit manager/scheduler/scheduler.go), and it may stay "pending" until its service
 * is removed; control passes to the node's agent only at "assigned" (SwarmKit
 * design/task_model.md), so an assigned task is still awaited. Pure.
 */
export function taskSettled(t: Pick<TaskInfo, 'state' | 'desiredState'>): boolean {
  return SETTLED.has(t.state) || (UNASSIGNED.has(t.state) && STOPPING.has(t.desiredState));
}

/**
 * Whether a drained service may be removed: every task has settled, and the swarm's task
 * reaper has deleted those the drain gave desired state "remove" (it deletes a shut-down
 * or never-assigned one within 250 ms: SwarmKit manager/orchestrator/taskreaper). Removing
 * the service while the reaper still deletes its tasks races it, and Docker 20.10's
 * SetServiceTasksRemove then dereferences a task the reaper deleted: dockerd panics
 * (SwarmKit manager/orchestrator/service.go, seen in our CI). Pure.
 */
export function drained(tasks: Pick<TaskInfo, 'state' | 'desiredState'>[]): boolean {
  return tasks.every((t) => taskSettled(t) && t.desiredState !== 'remove');
}

/**
 * Stops a service's tasks before it is removed: sets replicas to 0 (a global service gets
 * a placement constraint no node matches) and waits until every task has settled and the
 * swarm has deleted those it scaled away ({@link drained}). Removing
 * a service with tasks still being prepared lets their containers appear after the
 * removal; draining first makes teardown see every container it must wait for.
 * A node that never answers (down) would keep its task unsettled: after `timeoutMs` the
 * drain gives up quietly and removal goes on. A job (`ReplicatedJob`, `GlobalJob`: a
 * spread build) is not drained: the Engine refuses to change a service's mode ("service
 * mode change is not allowed"), and removing it stops its task.
 */
export async function drainService(engine: Engine, service: ServiceInfo, timeoutMs: number): Promise<void> {
  if (isJob(service)) return;
  const spec: ServiceSpec = { ...service.spec };
  if (service.global) {
    const template = spec.TaskTemplate;
    spec.TaskTemplate = { ...template, Placement: { ...template.Placement, Constraints: ['node.id==iglu-drained'] } };
  } else {
    spec.Mode = { Replicated: { Replicas: 0 } };
  }
  await engine.services.update(service.id, service.version, spec);
  await waitFor(async () => (drained(await engine.tasks.list(service.id)) ? true : undefined), {
    timeoutMs,
    what: `the tasks of ${service.name} to stop`,
    hint: 'a node that is down keeps its task unsettled; removal goes on regardless',
  }).catch((err: unknown) => log.farm('drain of %s incomplete: %s', service.name, String(err)));
}

/** Whether a service is a swarm job (Engine API ServiceSpec.Mode: ReplicatedJob or GlobalJob). Pure. */
export function isJob(service: { spec: Pick<ServiceSpec, 'Mode'> }): boolean {
  const mode = service.spec.Mode ?? {};
  return 'ReplicatedJob' in mode || 'GlobalJob' in mode;
}

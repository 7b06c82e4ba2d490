import type { FarmConfig } from '../config/schema.js';
import type { Engine, NodeInfo, TaskInfo } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { waitFor } from '../util/wait.js';
import { convergence, type Convergence } from './converge.js';
import { farmHosts, type FarmHost } from './hosts.js';
import { FarmProbe } from './probe.js';
import { serviceName } from './settings.js';

/**
 * Waits until the distccd service has every task running and every task accepts
 * distcc compiles from the overlay, bounded by farm.readyTimeout seconds. The caller's
 * `opts.signal` (the CLI's: Ctrl-C) ends both the wait and the probe, whose container is
 * removed before this rejects.
 * @param opts.whileProbing work on the running tasks' hosts that runs alongside the probe
 *   (farm up: the manager's DISTCC_HOSTS); the first error of the two is thrown
 * @returns the farm's hosts, sorted by overlay address
 * @throws IgluError on timeout, with the tasks' states and the last task error;
 *   "interrupted" (exit 130) on Ctrl-C
 */
export async function waitForFarm(
  engine: Engine,
  farm: FarmConfig,
  imageId: string,
  opts: { signal?: AbortSignal; whileProbing?: (hosts: FarmHost[]) => Promise<void> } = {},
): Promise<FarmHost[]> {
  const { signal, whileProbing } = opts;
  const started = Date.now();
  const timeoutMs = farm.readyTimeout * 1000;
  // the probe's container starts while the tasks are scheduled; it is removed however this ends
  await using probe = FarmProbe.start(engine, { farm: farm.name, imageId, network: farm.network, signal });
  const { tasks, nodes, desired } = await tasksRunning(engine, farm, timeoutMs, signal);
  const hosts = farmHosts(tasks, nodes, farm.network);
  if (hosts.length !== desired) {
    throw new IgluError(`${hosts.length} of ${desired} running tasks have an address on ${farm.network}`, { hint: 'retry "iglu farm up"' });
  }
  const remainingS = Math.max(10, (timeoutMs - (Date.now() - started)) / 1000);
  await Promise.all([probe.run(hosts, farm.port, remainingS), whileProbing?.(hosts)]);
  return hosts;
}

/**
 * Polls the service's tasks and the nodes every 100 ms (two cheap reads on the manager)
 * until every desired task runs.
 * @throws IgluError on timeout, with the tasks' states and the last task error
 */
async function tasksRunning(
  engine: Engine,
  farm: FarmConfig,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ tasks: TaskInfo[]; nodes: NodeInfo[]; desired: number }> {
  const service = serviceName(farm);
  let last: Convergence | undefined;
  let tasks: TaskInfo[] = [];
  let nodes: NodeInfo[] = [];
  await waitFor(
    async () => {
      [tasks, nodes] = await Promise.all([engine.tasks.list(service), engine.nodes.list()]);
      const desired = farm.global ? nodes.filter((n) => n.state === 'ready' && n.availability === 'active').length : farm.replicas;
      last = convergence(tasks, desired);
      return last.done ? true : undefined;
    },
    {
      timeoutMs,
      intervalMs: 100,
      // Ctrl-C ends the wait (farm up then rolls back); without it the poll would go on to the timeout
      signal,
      what: `${service} tasks to run`,
      hint: `inspect them with "docker service ps --no-trunc ${service}"`,
      lastState: () => describeConvergence(last),
    },
  );
  return { tasks, nodes, desired: last!.desired };
}

function describeConvergence(c: Convergence | undefined): string {
  if (!c) return 'no answer yet';
  const failure = c.failures.at(-1);
  return `${c.running}/${c.desired} running${failure ? `; last task error: ${failure.message}` : ''}`;
}

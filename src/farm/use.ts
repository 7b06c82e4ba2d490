import type { Engine } from '../docker/index.js';
import { log } from '../log.js';
import type { FarmHost } from './hosts.js';
import { readTaskStats, type TaskStats } from './stats.js';

/**
 * The farm's use now, for a build's progress line: slots busy of the slots there are, per
 * node when there are several, and the compiles the tasks finished since `baseline` (an
 * earlier snapshot: distccd's counters count from its start; a task started since counts
 * from 0). Tasks whose stats page did not answer are named. Pure.
 * @example "farm: 3/4 slots busy (iglu-n1 2/2, iglu-n2 1/2), 812 compiles done"
 */
export function farmUseLine(now: TaskStats[], baseline: TaskStats[] = now): string {
  const up = now.filter((t) => t.up);
  const before = new Map(baseline.filter((t) => t.up).map((t) => [t.taskId, t.done]));
  const done = up.reduce((n, t) => n + Math.max(0, t.done - (before.get(t.taskId) ?? 0)), 0);
  const byNode = new Map<string, { running: number; slots: number }>();
  for (const t of up) {
    const n = byNode.get(t.node) ?? { running: 0, slots: 0 };
    byNode.set(t.node, { running: n.running + Math.min(t.running, t.slots), slots: n.slots + t.slots });
  }
  const running = [...byNode.values()].reduce((n, x) => n + x.running, 0);
  const slots = [...byNode.values()].reduce((n, x) => n + x.slots, 0);
  const nodes =
    byNode.size > 1
      ? ` (${[...byNode]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([node, x]) => `${node} ${x.running}/${x.slots}`)
          .join(', ')})`
      : '';
  const down = now.filter((t) => !t.up).map((t) => t.node);
  return `farm: ${running}/${slots} slots busy${nodes}, ${done} compiles done${down.length ? `; no stats from ${down.join(', ')}` : ''}`;
}

/**
 * Shows the farm's use while a build runs: every `intervalMs` (default 2 s on a terminal,
 * 10 s when stderr is a pipe or a file, where each line stays in the log) it reads the
 * tasks' distccd stats from `container` (a container of this build on the farm's overlay:
 * the toolchain client or the chroot's --farm container; readTaskStats) and passes
 * farmUseLine to `show`, counting compiles from the first snapshot. Reads never overlap;
 * one that fails is logged (DEBUG=iglu:farm) and skipped: the view never fails a build.
 * Dispose it (`await using`) to stop; disposal waits for a read under way.
 */
export function watchFarmUse(
  engine: Engine,
  container: string,
  hosts: FarmHost[],
  show: (line: string) => void,
  intervalMs = process.stderr.isTTY ? 2000 : 10_000,
): AsyncDisposable {
  let baseline: TaskStats[] | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const read = async (): Promise<void> => {
    try {
      const now = await readTaskStats(engine, container, hosts);
      baseline ??= now;
      if (!stopped) show(farmUseLine(now, baseline));
    } catch (err) {
      log.farm('farm use: %s', (err as Error).message);
    }
    // the next read is timed from the end of this one, so reads never overlap
    if (!stopped)
      timer = setTimeout(() => {
        reading = read();
      }, intervalMs).unref();
  };
  let reading = read();
  return {
    async [Symbol.asyncDispose]() {
      stopped = true;
      clearTimeout(timer);
      await reading;
    },
  };
}

import { describe } from '../errors.js';
import { farmStatus } from '../farm/status.js';
import type { RunContext } from '../run-context.js';

/** The farm as the service shows it (`GET /builder/status`'s farm part). */
export interface FarmView {
  farm: string;
  up: boolean;
  /** Why tasks cannot build now; absent when they can. */
  problem?: string;
  nodes: { hostname: string; state: string; availability: string; cpus?: number }[];
  slots: { room: number; busy: number };
  builds: { pkg: string; node: string; state: string }[];
}

/**
 * The farm now (farmStatus): its nodes, its room for package jobs and how much is busy,
 * the package jobs running, and why tasks cannot build (no engine, no swarm, no distccd
 * service or running task, no ready node). Never throws: a problem is in `problem`.
 */
export async function farmView(ctx: RunContext): Promise<FarmView> {
  const farm = ctx.config.farm.name;
  try {
    const s = await farmStatus(await ctx.engine(), ctx.config.farm);
    const ready = s.nodes.filter((n) => n.state === 'ready' && n.availability === 'active');
    const problem =
      s.swarm !== 'active' || !s.service
        ? `the farm ${farm} is not up (iglu farm up)`
        : !s.hosts.length
          ? `the farm ${farm} has no running distccd task (see iglu farm status)`
          : !ready.length
            ? `the farm ${farm} has no ready node`
            : undefined;
    return {
      farm,
      up: !problem,
      ...(problem ? { problem } : {}),
      nodes: s.nodes.map((n) => ({ hostname: n.hostname, state: n.state, availability: n.availability, ...(n.cpus ? { cpus: n.cpus } : {}) })),
      slots: { room: s.buildSlots.room, busy: s.buildSlots.room - s.buildSlots.free },
      builds: s.builds,
    };
  } catch (err) {
    return { farm, up: false, problem: describe(err), nodes: [], slots: { room: 0, busy: 0 }, builds: [] };
  }
}

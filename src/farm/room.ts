/** CPUs a package job reserves on its node: one (a job's own work is configure, make's
 * driver, links and packing; its compiles go to the farm's distccd tasks). */
export const JOB_CPUS = 1;

/**
 * How many package jobs the farm has room for: Σ max(1, floor(CPUs / JOB_CPUS)) over its
 * ready, active nodes (the swarm places a job only where its reservation fits). Pure.
 */
export function jobRoom(nodes: { state: string; availability: string; cpus: number }[]): number {
  return nodes.filter((n) => n.state === 'ready' && n.availability === 'active').reduce((sum, n) => sum + Math.max(1, Math.floor(n.cpus / JOB_CPUS)), 0);
}

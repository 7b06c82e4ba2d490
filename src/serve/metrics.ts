import type { Task, TaskState } from './task.js';

const STATES: TaskState[] = ['new', 'queued', 'blocked', 'building', 'done', 'failed', 'cancelled'];

/**
 * The service's own metrics in the Prometheus text format (exposition format 0.0.4):
 * tasks by state, queued tasks by owner, and the package builds of finished tasks — wall
 * and CPU seconds, by package. Pure.
 * @param recent the tasks to sum the package figures over (the newest ones)
 */
export function serviceMetrics(counts: Partial<Record<TaskState, number>>, recent: Task[]): string {
  const lines = ['# HELP iglu_serve_tasks Tasks of the build service by state.', '# TYPE iglu_serve_tasks gauge'];
  for (const s of STATES) lines.push(`iglu_serve_tasks{state="${s}"} ${counts[s] ?? 0}`);
  const queued = new Map<string, number>();
  for (const t of recent) if (t.state === 'queued' || t.state === 'blocked') queued.set(t.owner, (queued.get(t.owner) ?? 0) + 1);
  lines.push('# HELP iglu_serve_queued_by_owner Tasks waiting to build, by the token that submitted them.', '# TYPE iglu_serve_queued_by_owner gauge');
  for (const [owner, n] of [...queued].sort()) lines.push(`iglu_serve_queued_by_owner{owner="${escape(owner)}"} ${n}`);
  const wall = new Map<string, number>();
  const cpu = new Map<string, number>();
  for (const t of recent)
    for (const p of t.packages) {
      if (p.usage) cpu.set(p.name, (cpu.get(p.name) ?? 0) + p.usage.cpuSeconds);
      if (p.seconds) wall.set(p.name, (wall.get(p.name) ?? 0) + p.seconds);
    }
  lines.push('# HELP iglu_serve_package_build_seconds Wall time of package builds in recent tasks.', '# TYPE iglu_serve_package_build_seconds counter');
  for (const [name, s] of [...wall].sort()) lines.push(`iglu_serve_package_build_seconds{package="${escape(name)}"} ${s}`);
  lines.push('# HELP iglu_serve_package_cpu_seconds CPU time of package build jobs in recent tasks.', '# TYPE iglu_serve_package_cpu_seconds counter');
  for (const [name, s] of [...cpu].sort()) lines.push(`iglu_serve_package_cpu_seconds{package="${escape(name)}"} ${s}`);
  return `${lines.join('\n')}\n`;
}

/** A label value escaped as the text format wants (backslash, quote, newline). Pure. */
function escape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

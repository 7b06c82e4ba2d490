import { PassThrough } from 'node:stream';
import type { FarmConfig } from '../config/schema.js';
import type { Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { labelsFor } from '../labels.js';
import { farmForBuilds } from './for-builds.js';
import type { FarmHost } from './hosts.js';
import { ownerLabel } from '../util/owner.js';

/** distccd's statistics HTTP server (distccd(1): --stats, --stats-port; 3633 by default). */
export const STATS_PORT = 3633;

/**
 * Reads each address given as an argument at STATS_PORT (3 s timeout) and prints `@@ IP`
 * followed by the reply, or `@@ IP error WHY`. Runs with the farm image's python3 in a
 * container on the overlay (the host has no route into it).
 *
 * It sends no request. distccd answers every connection "regardless of data that the
 * client sends" (src/stats.c, dcc_service_stats_request): it reads once without blocking,
 * writes the page and closes. A GET that arrives after that one read is left unread, and
 * closing a socket with unread data sends a reset that can discard the page on our side
 * (measured on the dev farm: 9 of 12,000 reads with a GET failed with ECONNRESET, 0 of
 * 12,000 without).
 */
const STATS_SCRIPT = `import socket, sys
for ip in sys.argv[1:]:
    try:
        s = socket.create_connection((ip, ${STATS_PORT}), timeout=3)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        print("@@ " + ip)
        print(data.decode("utf-8", "replace"))
    except Exception as e:
        print("@@ " + ip + " error " + str(e).replace("\\n", " "))
`;

/** One task's counters, from its distccd's stats page. */
export interface TaskStats {
  ip: string;
  node: string;
  taskId: string;
  /** false when the stats page could not be read (then only `error` is meaningful). */
  up: boolean;
  error?: string;
  /** Connections accepted (dcc_tcp_accept). */
  accepted: number;
  /** Compiles that finished well (dcc_compile_ok). */
  done: number;
  /** Compiles that failed or timed out (dcc_compile_error + dcc_compile_timeout). */
  failed: number;
  /** Connections refused: bad requests or overload (dcc_rej_bad_req + dcc_rej_overload). */
  rejected: number;
  /** Jobs accepted and not yet ended: accepted minus every way a job ends. */
  running: number;
  /** The node's load averages over 1, 5, 15 minutes (dcc_load1..3). */
  load: [number, number, number];
  /** The job slots distccd was started with (dcc_max_kids). */
  slots: number;
}

/** A snapshot of the farm (`iglu farm top --json`). */
export interface FarmStats {
  farm: string;
  /** ISO time of the snapshot. */
  at: string;
  tasks: TaskStats[];
}

/**
 * Parses one distccd stats page (the `<distccstats>` block of `key value` lines distccd
 * 3.4 serves; its source, src/stats.c, names the keys). Pure.
 */
export function parseStatsPage(body: string): Omit<TaskStats, 'ip' | 'node' | 'taskId' | 'up'> {
  const v = new Map<string, string>();
  for (const m of body.matchAll(/^(dcc_\w+) (.*)$/gm)) v.set(m[1]!, m[2]!.trim());
  const n = (k: string) => Number(v.get(k) ?? 0) || 0;
  const ended = n('dcc_compile_ok') + n('dcc_compile_error') + n('dcc_compile_timeout') + n('dcc_cli_disconnect') + n('dcc_other');
  const rejected = n('dcc_rej_bad_req') + n('dcc_rej_overload');
  return {
    accepted: n('dcc_tcp_accept'),
    done: n('dcc_compile_ok'),
    failed: n('dcc_compile_error') + n('dcc_compile_timeout'),
    rejected,
    running: Math.max(0, n('dcc_tcp_accept') - ended - rejected),
    load: [n('dcc_load1'), n('dcc_load2'), n('dcc_load3')],
    slots: n('dcc_max_kids'),
  };
}

/** Splits STATS_SCRIPT's output into one TaskStats per host (a host without a block is down). Pure. */
export function parseStatsOutput(text: string, hosts: FarmHost[]): TaskStats[] {
  const blocks = new Map<string, string>();
  for (const part of text.split(/^@@ /m).slice(1)) {
    const [head, ...rest] = part.split('\n');
    blocks.set(head!.split(' ')[0]!, [head!, ...rest].join('\n'));
  }
  return hosts.map((h) => {
    const block = blocks.get(h.ip);
    const base = { ip: h.ip, node: h.hostname, taskId: h.taskId };
    const err =
      block === undefined
        ? 'no answer'
        : (/^\S+ error (.*)$/m.exec(block.split('\n')[0]!)?.[1] ?? (!/<distccstats>/.test(block) ? 'not a distccd stats page' : undefined));
    if (err !== undefined) return { ...base, up: false, error: err, ...parseStatsPage('') };
    return { ...base, up: true, ...parseStatsPage(block!) };
  });
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * The snapshot in the Prometheus text exposition format (version 0.0.4: `# HELP`,
 * `# TYPE`, then `name{labels} value` lines), one series per task, labelled farm, node,
 * task and ip. Pure.
 */
export function promText(s: FarmStats): string {
  const metrics: [string, 'counter' | 'gauge', string, (t: TaskStats) => number][] = [
    ['iglu_distccd_up', 'gauge', "Whether the task's stats page answered (1) or not (0).", (t) => (t.up ? 1 : 0)],
    ['iglu_distccd_jobs_running', 'gauge', 'Jobs the task accepted that have not ended.', (t) => t.running],
    ['iglu_distccd_slots', 'gauge', "Job slots the task's distccd runs (--jobs).", (t) => t.slots],
    ['iglu_distccd_jobs_done_total', 'counter', 'Compiles the task finished well.', (t) => t.done],
    ['iglu_distccd_jobs_failed_total', 'counter', 'Compiles that failed or timed out on the task.', (t) => t.failed],
    ['iglu_distccd_rejected_total', 'counter', 'Connections the task refused (bad request, overload).', (t) => t.rejected],
    ['iglu_node_load1', 'gauge', "The 1-minute load average of the task's node.", (t) => t.load[0]],
  ];
  const lines: string[] = [];
  for (const [name, type, help, value] of metrics) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const t of s.tasks) {
      if (!t.up && name !== 'iglu_distccd_up') continue;
      lines.push(`${name}{farm="${esc(s.farm)}",node="${esc(t.node)}",task="${esc(t.taskId)}",ip="${t.ip}"} ${value(t)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The snapshot as `farm top` shows it: one line per task, by node. Pure. */
export function topTable(s: FarmStats): string {
  const head = `farm ${s.farm} at ${s.at.slice(11, 19)}: ${s.tasks.reduce((n, t) => n + t.running, 0)} jobs running, ${s.tasks.reduce((n, t) => n + t.done, 0)} done, ${s.tasks.reduce((n, t) => n + t.failed, 0)} failed`;
  const rows = [...s.tasks]
    .sort((a, b) => a.node.localeCompare(b.node) || a.ip.localeCompare(b.ip, 'en', { numeric: true }))
    .map((t) =>
      t.up
        ? `${t.node.padEnd(20)} ${t.ip.padEnd(16)} ${`${t.running}/${t.slots}`.padStart(7)} ${String(t.done).padStart(8)} ${String(t.failed).padStart(7)} ${String(t.rejected).padStart(8)}  ${t.load.map((l) => l.toFixed(2)).join(' ')}`
        : `${t.node.padEnd(20)} ${t.ip.padEnd(16)} stats unreachable: ${t.error}`,
    );
  return [
    head,
    '',
    `${'NODE'.padEnd(20)} ${'TASK'.padEnd(16)} ${'RUNNING'.padStart(7)} ${'DONE'.padStart(8)} ${'FAILED'.padStart(7)} ${'REJECTED'.padStart(8)}  LOAD`,
    ...rows,
  ].join('\n');
}

/**
 * Each host's distccd counters, read by STATS_SCRIPT run (python3, from the farm image) in
 * `container`, a running container on the farm's overlay network. No hosts, no exec.
 * @returns one TaskStats per host, in the order given (`up: false` for a host that did not answer)
 * @throws IgluError when the script cannot run in the container (no python3)
 */
export async function readTaskStats(engine: Engine, container: string, hosts: FarmHost[]): Promise<TaskStats[]> {
  if (hosts.length === 0) return [];
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const code = await engine.containers.exec(container, ['python3', '-c', STATS_SCRIPT, ...hosts.map((h) => h.ip)], { output: out });
  const text = Buffer.concat(chunks).toString('utf8');
  if (code !== 0)
    throw new IgluError(`cannot read the tasks' statistics: ${text.trim().split('\n').slice(-2).join(' ')}`, {
      hint: 'the farm image needs python3 (iglu image build installs it)',
    });
  return parseStatsOutput(text, hosts);
}

/**
 * A reader of the farm's live statistics: a labelled container from the farm image on
 * the overlay (role `stats`) that asks every running task's distccd stats server
 * (STATS_PORT) for its counters. Dispose it (`await using`) to remove the container.
 */
export class FarmStatsReader implements AsyncDisposable {
  private constructor(
    private readonly engine: Engine,
    private readonly farm: FarmConfig,
    private readonly container: string,
  ) {}

  /**
   * Starts the reader's container.
   * @throws IgluError when no farm is up (farmForBuilds) or the container cannot start
   */
  static async start(engine: Engine, farm: FarmConfig): Promise<FarmStatsReader> {
    const { image } = await farmForBuilds(engine, farm, { tasksOptional: true, noFarmHint: 'start it with iglu farm up' });
    const container = await engine.containers.start({ image, network: farm.network, labels: labelsFor('stats', farm.name, ownerLabel()), name: 'iglu-stats' });
    return new FarmStatsReader(engine, farm, container);
  }

  /**
   * One snapshot: the running tasks (farmForBuilds) and each one's counters.
   * @throws IgluError when the farm is gone or the reader's command fails to run
   */
  async read(): Promise<FarmStats> {
    const { status } = await farmForBuilds(this.engine, this.farm, { tasksOptional: true, noFarmHint: 'start it with iglu farm up' });
    return { farm: this.farm.name, at: new Date().toISOString(), tasks: await readTaskStats(this.engine, this.container, status.hosts) };
  }

  /** Removes the container. Never throws. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.engine.containers.remove(this.container).catch(() => undefined);
  }
}

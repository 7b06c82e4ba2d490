/**
 * bench/serve: the build service under load, and how soon a task starts.
 *
 * Load: a task database of --tasks (1,000) finished tasks of 5 packages each, the service
 * started as `iglu serve`, then --clients (50) concurrent clients polling
 * `GET /task/{id}/status` (a random task each time) for --seconds (30): flat out (each
 * client asks again as soon as it has its answer: the throughput, and latency that is
 * mostly queueing, 50 requests in flight on 2 cores), and polling (each client asks every
 * --interval ms, 100: what a dashboard or a CI job does). Baseline, in the same process,
 * each time right before: the same clients on `GET /me` (the same server, token check and
 * serializer, no task read). After 3 s of warm-up. Prints requests per second, p50 and p99
 * latency, the ratios status/me, and the service's resident memory (VmRSS) before and after.
 *
 * Start (with --farm): a one-node farm is brought up, and the time from `PUT
 * /task/{id}/build` to the first package's swarm job being created (a slot free) is
 * measured over --rounds tasks of one shell recipe each, then the farm is taken down.
 *
 *   node dist/bench/serve.js [--tasks N] [--clients N] [--seconds S] [--farm] [--rounds N]
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { Engine, resolveEndpoint } from '../src/docker/index.js';
import { LABEL } from '../src/labels.js';
import { ServePaths } from '../src/layout/serve-paths.js';
import { Workdir } from '../src/layout/workdir.js';
import { TaskDb } from '../src/serve/task-db.js';
import { CLI, writeConfig } from '../test/support/cli.js';
import { api, startServe, until } from '../test/support/serve.js';

const argv = process.argv.slice(2);
const option = (name: string, def: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : def);
const nTasks = Number(option('--tasks', '1000'));
const clients = Number(option('--clients', '50'));
const seconds = Number(option('--seconds', '30'));
const rounds = Number(option('--rounds', '5'));
const interval = Number(option('--interval', '100'));
const farmName = `bs${Math.random().toString(36).slice(2, 6)}`;
const tree = mkdtempSync(path.join(tmpdir(), 'iglu-bench-serve-tree-'));
const config = writeConfig(`farm:\n  name: ${farmName}\n  network: ${farmName}-net\ntoolchain:\n  packages: []\nserve:\n  branches:\n    main: ${tree}\n`);
const workdir = mkdtempSync(path.join(tmpdir(), 'iglu-bench-serve-'));
const args = ['--config', config, '--workdir', workdir];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

function recipe(dir: string, ver: number): void {
  mkdirSync(path.join(dir, 'base/greet'), { recursive: true });
  writeFileSync(
    path.join(dir, 'base/greet/build.sh'),
    `pkgname=greet\npkgver=${ver}\nfetch() { :; }\nbuild() { :; }\npackage() { mkdir -p "$pkgdir/usr/share/greet"; echo ${ver} > "$pkgdir/usr/share/greet/v"; }\nlicense() { echo 0BSD; }\n`,
  );
}

/** `clients` loops requesting `route()` for `seconds`: latencies in ms and requests per second. */
async function load(
  url: string,
  token: string,
  route: () => string,
  interval = 0,
  secs = seconds,
): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + secs * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const res = await fetch(`${url}${route()}`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        const took = performance.now() - t0;
        if (res.ok) lat.push(took);
        else errors += 1;
        if (interval) await sleep(Math.max(0, interval - took));
      }
    }),
  );
  return { rps: lat.length / secs, p50: pct(lat, 0.5), p99: pct(lat, 0.99), errors };
}

recipe(tree, 1);
const token = (await execa('node', [CLI, ...args, 'serve', 'token', 'add', 'bench', '--scope', 'admin'])).stdout.trim();
const db = new TaskDb(new ServePaths(new Workdir(workdir)).db);
const ids: string[] = [];
for (let i = 0; i < nTasks; i++) {
  const t = db.create({ owner: `user${i % 7}`, ownerId: `user${i % 7}`, branch: 'main', priority: 0 });
  const packages = ['musl', 'zlib', 'mksh', 'busybox', 'toybox'].map((name) => ({
    name,
    version: '1-0',
    state: 'built',
    node: 'vm',
    seconds: 3.2,
    usage: { exit: 0, cpuSeconds: 2.5, wallSeconds: 3, peakMemoryBytes: 18e6, diskBytes: 7e4 },
  }));
  db.update(t.id, (x) => ({ ...x, state: 'done', startedAt: x.createdAt, endedAt: x.createdAt, packages }));
  ids.push(t.id);
}
db.close();
const port = 19000 + Math.floor(Math.random() * 1000);
const svc = await startServe(args, port);
try {
  const pid = svc.child.pid!;
  const statusRoute = () => `/task/${ids[Math.floor(Math.random() * ids.length)]!}/status`;
  await load(svc.url, token, statusRoute, 0, 3);
  await load(svc.url, token, () => '/me', 0, 3);
  const before = rss(pid);
  console.log(`${nTasks} tasks, ${clients} clients, ${seconds} s each`);
  for (const [mode, every] of [
    ['flat out', 0],
    [`polling every ${interval} ms`, interval],
  ] as const) {
    const base = await load(svc.url, token, () => '/me', every);
    const status = await load(svc.url, token, statusRoute, every);
    const line = (name: string, r: typeof base) =>
      `${name.padEnd(24)} ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.errors} errors`;
    console.log(`${mode}:\n  ${line('GET /me (baseline)', base)}\n  ${line('GET /task/{id}/status', status)}`);
    console.log(
      `  status/baseline: req/s ${(status.rps / base.rps).toFixed(2)}, p50 ${(status.p50 / base.p50).toFixed(2)}, p99 ${(status.p99 / base.p99).toFixed(2)}`,
    );
  }
  console.log(`service memory (VmRSS): ${before.toFixed(0)} MiB before, ${rss(pid).toFixed(0)} MiB after`);
  if (argv.includes('--farm')) await startLatency(svc.url, token);
} finally {
  await svc.stop();
}

/** From PUT build to the first job's swarm service, over `rounds` tasks (a new version each: built, not from the store). */
async function startLatency(url: string, tok: string): Promise<void> {
  const engine = new Engine(resolveEndpoint(undefined));
  await execa('node', [CLI, ...args, 'image', 'build'], { stdin: 'ignore' });
  await execa('node', [CLI, ...args, 'farm', 'up'], { stdin: 'ignore' });
  try {
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const dir = mkdtempSync(path.join(tmpdir(), 'iglu-bench-bundle-'));
      recipe(dir, 100 + i);
      const bundle = path.join(dir, 'b.tar');
      await execa('tar', ['-C', dir, '-cf', bundle, 'base']);
      const { body } = await api<{ id: string }>(url, tok, 'POST', '/task', { json: {} });
      await api(url, tok, 'PUT', `/task/${body.id}/build_bundle`, { bytes: readFileSync(bundle), type: 'application/x-tar' });
      const t0 = performance.now();
      await api(url, tok, 'PUT', `/task/${body.id}/build`);
      await until(
        'the first job',
        async () => ((await engine.services.list({ [LABEL.farm]: farmName, [LABEL.role]: 'build' })).length ? true : undefined),
        120_000,
      );
      times.push((performance.now() - t0) / 1000);
      await until(
        'the task to end',
        async () => ((await api<{ state: string }>(url, tok, 'GET', `/task/${body.id}/status`)).body.state === 'done' ? true : undefined),
        120_000,
      );
    }
    console.log(
      `PUT build → first job created: ${times.map((t) => t.toFixed(2)).join(' ')} s; median ${pct(times, 0.5).toFixed(2)} s (the first includes preparing the build root)`,
    );
  } finally {
    await execa('node', [CLI, ...args, 'farm', 'down', '--leave'], { stdin: 'ignore', reject: false });
  }
}

/**
 * bench/farm-compile: musl 1.2.3 (about 1,370 C files) several ways in the same run,
 * rounds alternating, all in containers from the same farm image:
 * - local: `iglu toolchain build musl --local` (plain `make -j2` in the client container,
 *   the same clang, no distcc);
 * - raw distcc: distccd daemons started by hand (`docker run … distccd`) and a client
 *   container doing the work of iglu's recipe (tree/base/musl: the same configure options
 *   and CFLAGS as the runner's, `make`, `make install` into a package directory) with
 *   `CC="distcc clang"`, DISTCC_HOSTS naming the daemons and the same -j iglu uses;
 * - iglu: `iglu toolchain build musl` as a user runs it (the canary check, copying in and
 *   out, counting and packing included);
 * - one node only, iglu through the tasks: the same with farm.oneNode: distcc (a second
 *   config of the same farm), every compile sent to the tasks.
 *
 * `--nodes 1` (default): the host engine, a one-node farm, where iglu compiles here
 * (farm.oneNode: here); the raw daemons, one per task with its share of the CPUs, on a
 * bridge network. Ratios: local/iglu (≥ 0.9: the farm never loses to one machine) and
 * raw/iglu through the tasks (≥ 1: iglu as fast as distcc by hand).
 * `--nodes 3`: three engines in network namespaces (the multinode suite's), a farm of
 * three tasks, one per node; one raw daemon per engine on its namespace's address, with
 * the task's limit. The engines share this machine's CPUs, so this case shows placement
 * (compiles per node) and overhead (raw/iglu), not a speed-up.
 *
 * Needs root and a built farm image; seeds the sources itself. Makes its own farm, or
 * (one node) uses the farm of `--config FILE` when given (left up). Everything it starts
 * carries the label iglu.bench and is removed at the end.
 *
 *   node dist/bench/farm-compile.js [--rounds N] [--nodes 1|3] [--config FILE]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { remoteFraction } from '../src/farm/distcc-log.js';
import type { FarmHost } from '../src/farm/hosts.js';
import { runnerEnv } from '../src/recipes/read.js';
import type { FarmStatus } from '../src/farm/status.js';
import type { ToolchainResult } from '../src/phases/toolchain.js';
import { CLI, writeConfig } from '../test/support/cli.js';
import { NetnsEngines } from '../test/support/netns-engines.js';
import { median } from './median.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : dflt);
const rounds = Number(opt('--rounds', '2'));
const nodeCount = Number(opt('--nodes', '1'));
const given = argv.includes('--config') ? opt('--config', '') : undefined;
const farmName = `bench${Math.random().toString(36).slice(2, 6)}`;
const workdir = mkdtempSync(path.join(tmpdir(), 'iglu-bench-'));
const MUSL_SHA256 = '7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4';
const RAW_NET = `iglu-bench-raw-${process.pid}`;
const LABEL = ['--label', 'iglu.bench=farm-compile'];
// the runner's flags (iglupkg's -O3), so the raw arm compiles what iglu's recipe compiles
const { CFLAGS, TRIPLE } = runnerEnv();

/** Where the bench runs: iglu's configs, the engine the client runs on, and the raw daemons. */
interface Site {
  config: string;
  /** One node: the same farm with farm.oneNode: distcc. */
  throughConfig?: string;
  /** The docker CLI aimed at engine `i` (1: the manager). */
  docker(args: string[], i?: number): Promise<{ stdout: string }>;
  /** Starts distccd by hand for these farm hosts; returns DISTCC_HOSTS and the raw client's `docker run` network options. */
  rawDaemons(image: string, hosts: FarmHost[], cpus: number): Promise<{ hosts: string; network: string[] }>;
  down(): Promise<void>;
}

const iglu = (args: string[], cfg: string) => execa('node', [CLI, '--config', cfg, '--workdir', workdir, ...args], { stdin: 'ignore', stderr: 'inherit' });
const distccd = (allow: string, jobs: number) => ['distccd', '--daemon', '--no-detach', '--log-stderr', '--allow', allow, '--jobs', String(jobs)];

/** The host engine, one node. */
function oneNode(): Site {
  const farmYaml = `farm:\n  name: ${farmName}\n  network: iglu-bench-net\n`;
  const docker = (args: string[]) => execa('docker', args, { stdin: 'ignore' });
  return {
    config: given ?? writeConfig(farmYaml),
    ...(given ? {} : { throughConfig: writeConfig(`${farmYaml}  oneNode: distcc\n`) }),
    docker,
    async rawDaemons(image, hosts, cpus) {
      await docker(['network', 'create', ...LABEL, RAW_NET]);
      const share = Math.max(1, Math.floor(cpus / hosts.length));
      const list: string[] = [];
      for (let i = 0; i < hosts.length; i++) {
        const id = (await docker(['run', '-d', ...LABEL, '--network', RAW_NET, image, ...distccd('0.0.0.0/0', share)])).stdout.trim();
        const ip = (await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${RAW_NET}").IPAddress}}`, id])).stdout.trim();
        list.push(`${ip}/${share}`);
      }
      return { hosts: list.join(' '), network: ['--network', RAW_NET] };
    },
    async down() {
      await docker(['network', 'rm', RAW_NET]).catch(() => undefined);
    },
  };
}

/** Three engines in network namespaces; the farm image is put on the manager first. */
async function threeNodes(): Promise<Site> {
  const nodes = new NetnsEngines(3);
  await nodes.up();
  const docker = (args: string[], i = 1) => execa('docker', ['-H', nodes.endpoint(i), ...args], { stdin: 'ignore' });
  const { Engine, resolveEndpoint } = await import('../src/docker/index.js');
  const { distributeImage } = await import('../src/farm/distribute.js');
  const img = JSON.parse((await execa('node', [CLI, 'image', 'build', '--json'])).stdout) as { id: string; ref: string };
  await distributeImage(new Engine(resolveEndpoint(undefined)), [nodes.engine(1)], img);
  const node = (i: number) => `    - endpoint: ${nodes.endpoint(i)}\n      advertiseAddr: ${nodes.addr(i)}\n`;
  const config = writeConfig(
    `docker:\n  host: ${nodes.endpoint(1)}\nfarm:\n  name: ${farmName}\n  network: iglu-bench-net\n  advertiseAddr: ${nodes.addr(1)}\n  nodes:\n${node(2)}${node(3)}`,
  );
  return {
    config,
    docker,
    async rawDaemons(image, hosts) {
      // one daemon per engine, on its namespace's address, with the limit iglu gives that node's task
      const list: string[] = [];
      for (const h of hosts) {
        const i = Number(/^iglu-n(\d)$/.exec(h.hostname)?.[1]);
        await docker(['run', '-d', ...LABEL, '--network', 'host', image, ...distccd(`${nodes.net}.0/24`, h.limit)], i);
        list.push(`${nodes.addr(i)}/${h.limit}`);
      }
      return { hosts: list.join(' '), network: ['--network', 'host'] };
    },
    down: () => nodes.down(),
  };
}

async function timed(extra: string[], cfg: string): Promise<{ seconds: number; result: ToolchainResult }> {
  const t0 = performance.now();
  const r = await iglu(['toolchain', 'build', 'musl', '--offline', '--rebuild', '--json', ...extra], cfg);
  return { seconds: (performance.now() - t0) / 1000, result: JSON.parse(r.stdout) as ToolchainResult };
}

/** musl built through the hand-started daemons, in a fresh client container on the manager's engine: seconds. */
async function rawRound(site: Site, image: string, raw: { hosts: string; network: string[] }, jobs: number): Promise<number> {
  const tarball = path.join(workdir, 'sources/sha256', MUSL_SHA256);
  const script = [
    'set -e',
    'cd /tmp',
    'tar -xzf /musl.tar.gz',
    'cd musl-1.2.3',
    `./configure --prefix=/usr --syslibdir=/lib --disable-wrapper CC="distcc clang --target=${TRIPLE}" CFLAGS="${CFLAGS}" AR=llvm-ar RANLIB=llvm-ranlib >/dev/null`,
    `make -j${jobs} >/dev/null`,
    'make DESTDIR=/tmp/pkg install >/dev/null',
  ].join('\n');
  const t0 = performance.now();
  await site.docker([
    'run',
    '--rm',
    ...LABEL,
    ...raw.network,
    '-v',
    `${tarball}:/musl.tar.gz:ro`,
    '-e',
    `DISTCC_HOSTS=${raw.hosts}`,
    image,
    'sh',
    '-c',
    script,
  ]);
  return (performance.now() - t0) / 1000;
}

async function removeRaw(site: Site): Promise<void> {
  for (let i = 1; i <= nodeCount; i++) {
    const ids = (await site.docker(['ps', '-aq', '--filter', 'label=iglu.bench=farm-compile'], i)).stdout.split('\n').filter(Boolean);
    if (ids.length) await site.docker(['rm', '-f', ...ids], i);
  }
}

const perNode = (c: ToolchainResult['compiles']) =>
  Object.entries(c.byNode)
    .map(([n, k]) => `${n} ${k}`)
    .join(', ');

/** The rounds, in turn; prints each round and the medians with their ratios. */
async function measure(site: Site, status: FarmStatus, image: string): Promise<void> {
  const cpus = status.nodes.find((n) => n.id === status.managerNodeId)?.cpus ?? 2;
  const raw = await site.rawDaemons(image, status.hosts, cpus);
  const arms = { local: [] as number[], iglu: [] as number[], through: [] as number[], raw: [] as number[] };
  let f: { seconds: number; result: ToolchainResult } | undefined;
  let t: typeof f;
  for (let i = 0; i < rounds; i++) {
    arms.local.push((await timed(['--local'], site.config)).seconds);
    f = await timed([], site.config);
    arms.iglu.push(f.seconds);
    // the tasks' arm: iglu through them, and distcc by hand with the -j iglu uses there
    t = site.throughConfig ? await timed([], site.throughConfig) : f;
    if (site.throughConfig) arms.through.push(t.seconds);
    arms.raw.push(await rawRound(site, image, raw, t.result.jobs));
    console.log(
      `round ${i + 1}: local ${arms.local.at(-1)!.toFixed(1)} s, iglu ${f.seconds.toFixed(1)} s (${f.result.mode}, -j${f.result.jobs}), raw distcc ${arms.raw.at(-1)!.toFixed(1)} s` +
        (site.throughConfig ? `, iglu through the tasks ${t.seconds.toFixed(1)} s (-j${t.result.jobs})` : '') +
        `; compiles through the tasks: ${perNode(t.result.compiles)}, ${t.result.compiles.local} local`,
    );
  }
  const [l, r, g] = [median(arms.local), median(arms.raw), median(arms.iglu)];
  const th = arms.through.length ? median(arms.through) : g;
  console.log(
    `musl 1.2.3 on ${nodeCount} node(s), ${rounds} rounds, medians: local make -j2 ${l.toFixed(1)} s, iglu ${g.toFixed(1)} s (${f!.result.mode}), raw distcc ${r.toFixed(1)} s (DISTCC_HOSTS="${raw.hosts}")` +
      (arms.through.length ? `, iglu through the tasks ${th.toFixed(1)} s` : ''),
  );
  console.log(
    `ratios: local/iglu ${(l / g).toFixed(2)} (≥ 0.90: the farm never loses to one machine), raw/iglu through the tasks ${(r / th).toFixed(2)} (≥ 1.00: iglu as fast as distcc by hand); remote fraction ${(remoteFraction(t!.result.compiles) * 100).toFixed(1)} %`,
  );
}

const site = nodeCount === 3 ? await threeNodes() : oneNode();
try {
  await iglu(['sources', 'seed'], site.config);
  // leave the engine's swarm membership as it was found
  const swarmBefore = (JSON.parse((await iglu(['farm', 'status', '--json'], site.config)).stdout) as { swarm: string }).swarm;
  if (!given) await iglu(['farm', 'up', ...(nodeCount === 3 ? ['--replicas', '3'] : [])], site.config);
  try {
    const status = JSON.parse((await iglu(['farm', 'status', '--json'], site.config)).stdout) as FarmStatus;
    const image = (await site.docker(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', status.service!.name])).stdout.trim();
    // the build chain first: toolchain build musl needs compiler-rt and musl-headers built
    await iglu(['toolchain', 'build', '--offline'], site.config);
    await measure(site, status, image);
  } finally {
    await removeRaw(site);
    if (!given) await iglu(['farm', 'down', ...(swarmBefore === 'inactive' ? ['--leave'] : [])], site.config);
  }
} finally {
  await site.down();
}

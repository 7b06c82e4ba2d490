/**
 * bench/farm-compile: musl 1.2.3 (about 1,370 C files) three ways in the same run, rounds
 * alternating, all in containers from the same farm image on this machine:
 * - local: `iglu toolchain build musl --local` (plain `make -j2` in the client container,
 *   the same clang, no distcc);
 * - raw distcc: distccd daemons started by hand (`docker run … distccd`, as many as the
 *   farm has tasks, each `--jobs` its share of the CPUs) on a bridge network, and a client
 *   container doing the work of iglu's recipe (tree/base/musl: the same configure options
 *   and CFLAGS as the runner's, `make`, `make install` into a package directory) with
 *   `CC="distcc clang"`, DISTCC_HOSTS naming the daemons and the same -j iglu uses;
 * - iglu: `iglu toolchain build musl` as a user runs it (the canary check, copying in and
 *   out, counting and packing included): on a farm whose every task runs on this machine
 *   it compiles here (farm.oneNode: here, the default);
 * - iglu through the tasks: the same with farm.oneNode: distcc (only when iglu makes the
 *   farm: the same farm under a second config), every compile sent to the tasks.
 * Prints medians and two ratios: local/iglu (≥ 0.9: the farm never loses to one machine;
 * >1: it is faster) and raw/iglu through the tasks (≥1: iglu is as fast as distcc by hand). Needs root, a built farm image and
 * the sources seeded (`iglu sources seed`). Makes its own farm on the host engine, or uses
 * the farm of `--config FILE` when given (left up). Everything it starts carries the label
 * iglu.bench and is removed at the end.
 *
 *   node dist/bench/farm-compile.js [--rounds N] [--config FILE]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { remoteFraction } from '../src/farm/distcc-log.js';
import { runnerEnv } from '../src/recipes/read.js';
import type { FarmStatus } from '../src/farm/status.js';
import type { ToolchainResult } from '../src/phases/toolchain.js';
import { CLI, writeConfig } from '../test/support/cli.js';
import { median } from './median.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : dflt);
const rounds = Number(opt('--rounds', '2'));
const given = argv.includes('--config') ? opt('--config', '') : undefined;
const farmYaml = `farm:\n  name: bench${Math.random().toString(36).slice(2, 6)}\n  network: iglu-bench-net\n`;
const config = given ?? writeConfig(farmYaml);
const throughConfig = given ? undefined : writeConfig(`${farmYaml}  oneNode: distcc\n`);
const workdir = mkdtempSync(path.join(tmpdir(), 'iglu-bench-'));
const iglu = (args: string[], cfg = config) => execa('node', [CLI, '--config', cfg, '--workdir', workdir, ...args], { stdin: 'ignore', stderr: 'inherit' });
const docker = (args: string[]) => execa('docker', args, { stdin: 'ignore' });
const MUSL_SHA256 = '7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4';
const RAW_NET = `iglu-bench-raw-${process.pid}`;
const LABEL = ['--label', 'iglu.bench=farm-compile'];
// the runner's flags (iglupkg's -O3), so the raw arm compiles what iglu's recipe compiles
const { CFLAGS, TRIPLE } = runnerEnv();

async function timed(extra: string[], cfg = config): Promise<{ seconds: number; result: ToolchainResult }> {
  const t0 = performance.now();
  const r = await iglu(['toolchain', 'build', 'musl', '--offline', '--rebuild', '--json', ...extra], cfg);
  return { seconds: (performance.now() - t0) / 1000, result: JSON.parse(r.stdout) as ToolchainResult };
}

/** Starts `tasks` distccd daemons by hand, each with its share of the CPUs; returns their DISTCC_HOSTS. */
async function rawDaemons(image: string, tasks: number, cpus: number): Promise<string> {
  await docker(['network', 'create', ...LABEL, RAW_NET]);
  const share = Math.max(1, Math.floor(cpus / tasks));
  const hosts: string[] = [];
  for (let i = 0; i < tasks; i++) {
    const id = (
      await docker([
        'run',
        '-d',
        ...LABEL,
        '--network',
        RAW_NET,
        image,
        'distccd',
        '--daemon',
        '--no-detach',
        '--log-stderr',
        '--allow',
        '0.0.0.0/0',
        '--jobs',
        String(share),
      ])
    ).stdout.trim();
    const ip = (await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${RAW_NET}").IPAddress}}`, id])).stdout.trim();
    hosts.push(`${ip}/${share}`);
  }
  return hosts.join(' ');
}

/** musl built through the hand-started daemons, in a fresh client container: seconds. */
async function rawRound(image: string, hosts: string, jobs: number): Promise<number> {
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
  await docker(['run', '--rm', ...LABEL, '--network', RAW_NET, '-v', `${tarball}:/musl.tar.gz:ro`, '-e', `DISTCC_HOSTS=${hosts}`, image, 'sh', '-c', script]);
  return (performance.now() - t0) / 1000;
}

async function removeRaw(): Promise<void> {
  const ids = (await docker(['ps', '-aq', '--filter', 'label=iglu.bench=farm-compile'])).stdout.split('\n').filter(Boolean);
  if (ids.length) await docker(['rm', '-f', ...ids]);
  await docker(['network', 'rm', RAW_NET]).catch(() => undefined);
}

await iglu(['sources', 'seed']);
// leave the engine's swarm membership as it was found
const swarmBefore = (JSON.parse((await iglu(['farm', 'status', '--json'])).stdout) as { swarm: string }).swarm;
if (!given) await iglu(['farm', 'up']);
try {
  const status = JSON.parse((await iglu(['farm', 'status', '--json'])).stdout) as FarmStatus;
  const image = (await docker(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', status.service!.name])).stdout.trim();
  const cpus = status.nodes.find((n) => n.id === status.managerNodeId)?.cpus ?? 2;
  const rawHosts = await rawDaemons(image, status.hosts.length, cpus);
  // the build chain first: toolchain build musl needs compiler-rt and musl-headers built
  await iglu(['toolchain', 'build', '--offline']);
  const local: number[] = [];
  const raw: number[] = [];
  const farm: number[] = [];
  const through: number[] = [];
  let mode = '';
  let fraction = 0;
  for (let i = 0; i < rounds; i++) {
    local.push((await timed(['--local'])).seconds);
    const f = await timed([]);
    farm.push(f.seconds);
    mode = f.result.mode;
    // the tasks' arm: iglu through them, and distcc by hand with the -j iglu uses there
    const t = throughConfig ? await timed([], throughConfig) : f;
    if (throughConfig) through.push(t.seconds);
    fraction = remoteFraction(t.result.compiles);
    raw.push(await rawRound(image, rawHosts, t.result.jobs));
    console.log(
      `round ${i + 1}: local ${local.at(-1)!.toFixed(1)} s, iglu ${f.seconds.toFixed(1)} s (${mode}, -j${f.result.jobs}), raw distcc ${raw.at(-1)!.toFixed(1)} s, iglu through the tasks ${t.seconds.toFixed(1)} s (-j${t.result.jobs}, remote ${(fraction * 100).toFixed(1)} %)`,
    );
  }
  const [l, r, f] = [median(local), median(raw), median(farm)];
  const t = through.length ? median(through) : f;
  console.log(
    `musl 1.2.3, ${rounds} rounds, medians: local make -j2 ${l.toFixed(1)} s, iglu ${f.toFixed(1)} s (${mode}), raw distcc ${r.toFixed(1)} s (DISTCC_HOSTS="${rawHosts}"), iglu through the tasks ${t.toFixed(1)} s`,
  );
  console.log(
    `ratios: local/iglu ${(l / f).toFixed(2)} (≥ 0.90: the farm never loses to one machine), raw/iglu through the tasks ${(r / t).toFixed(2)} (≥ 1.00: iglu as fast as distcc by hand); remote fraction ${(fraction * 100).toFixed(1)} %`,
  );
} finally {
  await removeRaw();
  if (!given) await iglu(['farm', 'down', ...(swarmBefore === 'inactive' ? ['--leave'] : [])]);
}

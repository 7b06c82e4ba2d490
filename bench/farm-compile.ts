/**
 * bench/farm-compile: musl 1.2.3 (about 1,370 C files) built by `iglu toolchain build`
 * through the farm, next to the same build compiled locally (`--local`: plain `make -j2`
 * in the same client container, the same clang, no distcc) in the same run, rounds
 * alternating. Prints medians, the speed ratio local/farm (>1: the farm is faster) and
 * the fraction of compile jobs that ran remotely. Needs root, a built farm image and the
 * sources seeded (`iglu sources seed`). Makes its own farm on the host engine, or uses
 * the farm of `--config FILE` when given (left up).
 *
 *   node dist/bench/farm-compile.js [--rounds N] [--replicas N] [--config FILE]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { remoteFraction } from '../src/farm/distcc-log.js';
import type { ToolchainResult } from '../src/toolchain/build.js';
import { CLI, writeConfig } from '../test/support/cli.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : dflt);
const rounds = Number(opt('--rounds', '2'));
const replicas = opt('--replicas', '2');
const given = argv.includes('--config') ? opt('--config', '') : undefined;
const config = given ?? writeConfig(`farm:\n  name: bench${Math.random().toString(36).slice(2, 6)}\n  network: iglu-bench-net\n`);
const workdir = mkdtempSync(path.join(tmpdir(), 'iglu-bench-'));
const base = ['--config', config, '--workdir', workdir];
const iglu = (args: string[]) => execa('node', [CLI, ...base, ...args], { stdin: 'ignore', stderr: 'inherit' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(extra: string[]): Promise<{ seconds: number; result: ToolchainResult }> {
  const t0 = performance.now();
  const r = await iglu(['toolchain', 'build', '--offline', '--rebuild', '--json', ...extra]);
  return { seconds: (performance.now() - t0) / 1000, result: JSON.parse(r.stdout) as ToolchainResult };
}

await iglu(['sources', 'seed']);
// leave the engine's swarm membership as it was found
const swarmBefore = (JSON.parse((await iglu(['farm', 'status', '--json'])).stdout) as { swarm: string }).swarm;
if (!given) await iglu(['farm', 'up', '--replicas', replicas]);
try {
  const farm: number[] = [];
  const local: number[] = [];
  let fraction = 0;
  let slots = 0;
  for (let i = 0; i < rounds; i++) {
    local.push((await timed(['--local'])).seconds);
    const f = await timed([]);
    farm.push(f.seconds);
    fraction = remoteFraction(f.result.compiles);
    slots = f.result.jobs;
    console.log(`round ${i + 1}: local ${local.at(-1)!.toFixed(1)} s, farm ${farm.at(-1)!.toFixed(1)} s (-j${slots}), remote ${(fraction * 100).toFixed(1)} %`);
  }
  const l = median(local);
  const f = median(farm);
  console.log(`musl 1.2.3, ${rounds} rounds: local make -j2 ${l.toFixed(1)} s, farm ${f.toFixed(1)} s; speed ratio local/farm ${(l / f).toFixed(2)}; remote fraction ${(fraction * 100).toFixed(1)} %`);
} finally {
  if (!given) await iglu(['farm', 'down', ...(swarmBefore === 'inactive' ? ['--leave'] : [])]);
}

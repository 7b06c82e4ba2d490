/**
 * bench/rebuild: what the chroot phase's package cache saves. In one run, on a fresh work
 * directory: the first `iglu chroot build` of the default tree (busybox, mksh, zlib from
 * pristine sources), then a rerun with nothing changed, then a rerun after touching one
 * recipe (a comment appended to zlib's build.sh, in a copy of the tree). Prints the wall
 * times and the ratios rerun/first and touched/first (smaller is better). Needs root, a
 * built farm image; makes a farm for the toolchain phase (musl) and takes it down.
 *
 *   node dist/bench/rebuild.js [--rounds N]
 */
import { appendFileSync, cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import type { ChrootPackage } from '../src/phases/chroot.js';
import { DEFAULT_TREE } from '../src/recipes/default-tree.js';
import { CLI, writeConfig } from '../test/support/cli.js';
import { median } from './median.js';

const argv = process.argv.slice(2);
const rounds = Number(argv.includes('--rounds') ? argv[argv.indexOf('--rounds') + 1] : '3');
const config = writeConfig(`farm:\n  name: bench${Math.random().toString(36).slice(2, 6)}\n  network: iglu-bench-net\n`);
const workdir = mkdtempSync(path.join(tmpdir(), 'iglu-bench-'));
const tree = mkdtempSync(path.join(tmpdir(), 'iglu-bench-tree-'));
cpSync(DEFAULT_TREE, tree, { recursive: true });
const base = ['--config', config, '--workdir', workdir];
const iglu = (args: string[]) => execa('node', [CLI, ...base, ...args], { stdin: 'ignore', stderr: 'inherit' });

async function timedBuild(): Promise<{ seconds: number; built: string[] }> {
  const t0 = performance.now();
  const r = await iglu(['chroot', 'build', '--offline', '--tree', tree, '--json']);
  const packages = (JSON.parse(r.stdout) as { packages: ChrootPackage[] }).packages;
  return { seconds: (performance.now() - t0) / 1000, built: packages.filter((p) => p.action === 'built').map((p) => p.name) };
}

await iglu(['sources', 'seed']);
const swarmBefore = (JSON.parse((await iglu(['farm', 'status', '--json'])).stdout) as { swarm: string }).swarm;
await iglu(['farm', 'up']);
try {
  await iglu(['toolchain', 'build', '--offline', '--tree', tree]);
} finally {
  await iglu(['farm', 'down', ...(swarmBefore === 'inactive' ? ['--leave'] : [])]);
}
await iglu(['chroot', 'prepare']);
const first = await timedBuild();
const rerun: number[] = [];
const touched: number[] = [];
let touchedBuilt: string[] = [];
for (let i = 0; i < rounds; i++) {
  rerun.push((await timedBuild()).seconds);
  appendFileSync(path.join(tree, 'extra/zlib/build.sh'), `# touched by bench/rebuild, round ${i + 1}\n`);
  const t = await timedBuild();
  touched.push(t.seconds);
  touchedBuilt = t.built;
}
const r = median(rerun);
const t = median(touched);
console.log(`first build (${first.built.join(', ')}): ${first.seconds.toFixed(1)} s`);
console.log(`rerun, nothing changed: median ${r.toFixed(2)} s over ${rounds}; ratio rerun/first ${(r / first.seconds).toFixed(3)}`);
console.log(
  `rerun after touching zlib's recipe (rebuilt: ${touchedBuilt.join(', ')}): median ${t.toFixed(2)} s; ratio touched/first ${(t / first.seconds).toFixed(3)}`,
);

/**
 * bench/schedule: how close critical-path-first scheduling of package builds comes to the
 * best possible, in simulation (src/schedule/critical-path.ts: simulateSchedule). Two DAGs:
 * - the default tree (tree/): its recipes' deps and mkdeps, with the build times recorded
 *   in a work directory's manifests (`--workdir DIR`, build.seconds) or, without one, the
 *   times of the e2e run recorded below;
 * - a synthetic tree of 130 packages shaped like the public Iglunix tree (127 recipes in
 *   its snapshot: how many deps a recipe declares follows that tree's counts, 68 with
 *   none, 24 with one, 14 with two, … up to twelve; a few long builds — a compiler, a
 *   kernel, a graphics stack — among many short ones), generated from a fixed seed.
 * For N = 1, 3, 10, 30 nodes of C slots it prints the makespan, the lower bound
 * max(critical path, total work ÷ slots) and their ratio (goal ≤ 1.15), next to the ratio
 * of a baseline that takes ready jobs by name.
 * A second table drops the fixed times: each package's compiles spread over the whole
 * farm up to its -j (src/schedule/moldable.ts: simulateFarm), so a long build such as
 * llvm's shrinks with N instead of bounding every N (the fixed table's ratio is then a
 * trivial 1.000). A package is split into a part on one slot (configure, links, packing)
 * and CPU seconds of compiles: the default tree's recorded times (at -j2 on one 2-core
 * node) as 25 % serial and the rest compiles on two slots; the synthetic tree's times as
 * 30 % serial, and its long builds as estimated below. Pure computation: no engine, no
 * timing of this machine.
 * `--tree DIR` adds a third DAG: that tree's recipes (only the `--categories` listed, for
 * example base,linux of the public Iglunix tree), timed from `--workdir`'s manifests like
 * the default tree; a recipe never built there counts DEFAULT_BUILD_SECONDS, except llvm,
 * whose build is the compiler's estimate below. Dependencies on `--base` names (llvm,gmake:
 * chroot.base, which breaks the tree's cycles such as cmake -> llvm -> cmake) are left out.
 *
 *   node dist/bench/schedule.js [--workdir DIR] [--tree DIR [--categories a,b] [--base a,b]] [--slots C] [--json]
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_TREE } from '../src/recipes/default-tree.js';
import { readTree } from '../src/recipes/read.js';
import { buildJobs, simulateSchedule, type BuildJob, type Schedule } from '../src/schedule/critical-path.js';
import { simulateFarm, type FarmJob } from '../src/schedule/moldable.js';

const argv = process.argv.slice(2);
const opt = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const slots = Number(opt('--slots') ?? 2);
const NODES = [1, 3, 10, 30];

/**
 * build.seconds of the default tree's packages in the e2e test's work directory on this
 * 2-core machine (cold build, 2026-11-21; toolchain packages on the one-node farm).
 */
const RECORDED: Record<string, number> = {
  'musl-headers': 3.2,
  'compiler-rt': 28.7,
  musl: 53.7,
  toybox: 13.2,
  busybox: 37.4,
  mksh: 13.9,
  zstd: 27.9,
  linux: 310.2,
  iglunix: 1.3,
  zlib: 4.1,
};

async function recordedTimes(workdir: string | undefined): Promise<Map<string, number>> {
  if (!workdir) return new Map(Object.entries(RECORDED));
  const out = path.join(workdir, 'out');
  const times = new Map<string, number>();
  for (const f of (await readdir(out)).filter((n) => n.endsWith('.json'))) {
    const m = JSON.parse(await readFile(path.join(out, f), 'utf8')) as { name?: string; build?: { seconds?: number } };
    if (m.name && typeof m.build?.seconds === 'number') times.set(m.name, m.build.seconds);
  }
  return times;
}

/** A small deterministic PRNG (mulberry32), so every run replays the same synthetic tree. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The synthetic 130-package tree: packages in dependency order, deps on earlier ones. */
function syntheticTree(count = 130, seed = 130): BuildJob[] {
  const rnd = random(seed);
  // how many deps a recipe declares, weighted as in the Iglunix snapshot (0..12)
  const depCounts: [number, number][] = [
    [0, 68],
    [1, 24],
    [2, 14],
    [3, 7],
    [4, 3],
    [5, 3],
    [6, 3],
    [7, 1],
    [8, 1],
    [9, 1],
    [11, 1],
    [12, 1],
  ];
  const total = depCounts.reduce((n, [, w]) => n + w, 0);
  const pickCount = () => {
    let r = rnd() * total;
    for (const [k, w] of depCounts) if ((r -= w) < 0) return k;
    return 0;
  };
  // build times: log-normal around 40 s (Box-Muller), and a few long builds early in the order
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const long: Record<number, number> = { 2: 1800, 9: 900, 40: 600, 75: 400 };
  const jobs: BuildJob[] = [];
  for (let i = 0; i < count; i++) {
    const k = Math.min(i, pickCount());
    const deps = new Set<string>();
    // libraries low in the order are wanted more often (preferential attachment)
    while (deps.size < k) deps.add(`p${Math.floor(i * rnd() ** 2)}`);
    jobs.push({ name: `p${i}`, deps: [...deps], seconds: long[i] ?? Math.max(2, Math.round(40 * Math.exp(1.1 * normal()))) });
  }
  return jobs;
}

/**
 * The synthetic tree's long builds as farm jobs: serial seconds and CPU seconds of
 * compiles, estimates for a compiler (llvm: about 3,000 C++ files, 6 h of one CPU, 10
 * minutes of configure and links), a kernel, a graphics stack and a large library.
 * `llvm` is the public tree's recipe as measured on this machine (19.1.7 on a one-node
 * farm of 2 slots: its 4,119 ninja steps at 3.1 s each, steps 431 to 619 in 579 s, so
 * 6.2 CPU seconds a step, about 25,500 in all), with the same 10 minutes on one slot.
 */
const LONG_FARM: Record<string, Pick<FarmJob, 'serial' | 'parallel'>> = {
  llvm: { serial: 600, parallel: 25500 },
  p2: { serial: 600, parallel: 21600 },
  p9: { serial: 90, parallel: 1800 },
  p40: { serial: 120, parallel: 1200 },
  p75: { serial: 60, parallel: 700 },
};

/** A fixed-time job as a farm job: `serialShare` of its time on one slot, the rest compiles recorded on `recordedSlots` slots. */
function farmJob(j: BuildJob, serialShare: number, recordedSlots: number): FarmJob {
  const long = LONG_FARM[j.name];
  const serial = long?.serial ?? j.seconds * serialShare;
  const parallel = long?.parallel ?? j.seconds * (1 - serialShare) * recordedSlots;
  // make -j twice the farm's slots (farmJobs): in practice no package's -j is the limit
  return { name: j.name, deps: j.deps, serial, parallel, maxSlots: 1024 };
}

const recorded = await recordedTimes(opt('--workdir'));
const defaultJobs = buildJobs(await readTree(DEFAULT_TREE), recorded);
const synthetic = syntheticTree();
const dags: [string, BuildJob[]][] = [
  ['default tree', defaultJobs],
  ['synthetic 130', synthetic],
];
const farmDags: [string, FarmJob[]][] = [
  ['default tree', defaultJobs.map((j) => farmJob(j, 0.25, 2))],
  ['synthetic 130', synthetic.map((j) => farmJob(j, 0.3, 1))],
];
const treeDir = opt('--tree');
if (treeDir) {
  const categories = opt('--categories')?.split(',');
  const recipes = (await readTree(treeDir, () => {})).filter((r) => !categories || categories.includes(r.category));
  // llvm's fixed time: its farm estimate run on the one node's slots
  const times = new Map([['llvm', LONG_FARM.llvm!.serial + LONG_FARM.llvm!.parallel / slots], ...recorded]);
  const base = (opt('--base') ?? 'llvm,gmake').split(',');
  const jobs = buildJobs(recipes, times).map((j) => ({ ...j, deps: j.deps.filter((d) => !base.includes(d)) }));
  dags.push([`tree (${jobs.length})`, jobs]);
  farmDags.push([`tree (${jobs.length})`, jobs.map((j) => farmJob(j, 0.25, 2))]);
}
/** One row of a table: the DAG, its size, the farm and the schedule's figures. */
const row = (dag: string, packages: number, nodes: number, s: Schedule) => {
  const { makespan, criticalPath, work, lowerBound, ratio } = s;
  return { dag, packages, nodes, slots, makespan, criticalPath, work, lowerBound, ratio };
};
const rows = dags.flatMap(([dag, jobs]) =>
  NODES.map((nodes) => ({
    ...row(dag, jobs.length, nodes, simulateSchedule(jobs, nodes, slots)),
    // the baseline in the same run: ready jobs taken by name, as without recorded times
    byNameRatio: simulateSchedule(jobs, nodes, slots, { priority: 'name' }).ratio,
  })),
);
const farmRows = farmDags.flatMap(([dag, jobs]) => NODES.map((nodes) => row(dag, jobs.length, nodes, simulateFarm(jobs, nodes, slots))));
if (argv.includes('--json')) {
  console.log(JSON.stringify({ fixed: rows, farm: farmRows }, null, 2));
} else {
  console.log('fixed build times, one slot per package:');
  console.log('DAG            pkgs  nodes×slots  makespan s  critical path s  work s  lower bound s  ratio  (by name)');
  for (const r of rows) {
    console.log(
      `${r.dag.padEnd(14)} ${String(r.packages).padStart(4)}  ${`${r.nodes}×${r.slots}`.padStart(11)}  ${r.makespan.toFixed(1).padStart(10)}  ${r.criticalPath.toFixed(1).padStart(15)}  ${r.work.toFixed(0).padStart(6)}  ${r.lowerBound.toFixed(1).padStart(13)}  ${r.ratio.toFixed(3)}  (${r.byNameRatio.toFixed(3)})`,
    );
  }
  const worst = Math.max(...rows.map((r) => r.ratio));
  console.log(
    `critical path first: worst ratio ${worst.toFixed(3)} (goal ≤ 1.15); taken by name: worst ${Math.max(...rows.map((r) => r.byNameRatio)).toFixed(3)}`,
  );
  console.log('\ncompiles spread over the farm (each package up to its -j):');
  console.log('DAG            pkgs  nodes×slots  makespan s  critical path s  work s  lower bound s  ratio  speed-up over 1 node');
  for (const r of farmRows) {
    const one = farmRows.find((x) => x.dag === r.dag && x.nodes === 1)!;
    console.log(
      `${r.dag.padEnd(14)} ${String(r.packages).padStart(4)}  ${`${r.nodes}×${r.slots}`.padStart(11)}  ${r.makespan.toFixed(1).padStart(10)}  ${r.criticalPath.toFixed(1).padStart(15)}  ${r.work.toFixed(0).padStart(6)}  ${r.lowerBound.toFixed(1).padStart(13)}  ${r.ratio.toFixed(3)}  ${(one.makespan / r.makespan).toFixed(2)}`,
    );
  }
  console.log(`farm-wide compiles: worst ratio ${Math.max(...farmRows.map((r) => r.ratio)).toFixed(3)} (goal ≤ 1.15)`);
}

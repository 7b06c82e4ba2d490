import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Engine } from '../docker/index.js';
import { addCounts, countCompiles, formatCounts, NO_COMPILES } from '../farm/distcc-log.js';
import { farmForBuilds } from '../farm/for-builds.js';
import { farmJobs } from '../farm/hosts.js';
import { refusedLine, refusedReports, refusedSuffix, verifiedFarm, type RefusedReport, type RefusedTask } from '../farm/verify.js';
import type { FarmStatus } from '../farm/status.js';
import { watchFarmUse } from '../farm/use.js';
import { labelsFor } from '../labels.js';
import { fetchPackage, phaseFailed, startBuildIn } from '../packages/fetch.js';
import { readManifest, upToDate, type CompileCounts } from '../packages/manifest.js';
import { PackagePaths } from '../layout/package-paths.js';
import { packOutputs } from '../packages/outputs.js';
import { COMPILE_LOGS, compileLogEnv, dropWorkspace, packageWorkspace, treeOutputs, workspaceEnv } from '../packages/workspace.js';
import { recipeHash } from '../packages/recipe-hash.js';
import type { Step } from '../pipeline/steps.js';
import { planBuild } from '../recipes/plan.js';
import { readTree, runnerEnv, type RecipeMeta } from '../recipes/read.js';
import { SourceCache } from '../sources/cache.js';
import { abortable } from '../util/abort.js';
import type { Workdir } from '../layout/workdir.js';
import { BuildClient } from './client.js';
import { ownerLabel } from '../util/owner.js';
import { BUILD_PATH, RUNNER_IN, RUNNER_SCRIPT, RUN_IN, SOURCE_DATE_EPOCH, SYSROOT, TARGET_BIN, TREE_IN } from '../layout/in-root.js';

/** One package of `iglu toolchain build` (its --json shape). */
export interface ToolchainPackage {
  name: string;
  version: string;
  action: 'built' | 'up to date';
  tarball: string;
  manifest: string;
  log: string;
  seconds: number;
  compiles: CompileCounts | null;
}

/** The result of `iglu toolchain build` (--json). */
export interface ToolchainResult {
  farm: string;
  /** "farm", or "local" with --local. */
  mode: 'farm' | 'local';
  distccHosts: string;
  jobs: number;
  packages: ToolchainPackage[];
  /** Sum over the packages built now. */
  compiles: CompileCounts;
  /** Tasks left out of this build: their compilers did not make the client's objects (farm/verify.ts). */
  refused: RefusedReport[];
}

/** What the toolchain steps share. */
export interface ToolchainState {
  farm?: FarmStatus;
  image?: string;
  order?: RecipeMeta[];
  client?: BuildClient;
  packages: ToolchainPackage[];
  refused?: RefusedTask[];
}

/** Inputs of the toolchain phase. */
export interface ToolchainOptions {
  engine: Engine;
  config: Config;
  workdir: Workdir;
  tree: string;
  /** Packages to build (default: config.toolchain.packages). */
  packages: string[];
  offline: boolean;
  /** Compile in the client container without distcc (the baseline of bench/farm-compile). */
  local: boolean;
  /** Build even when an up-to-date package exists: the packages named, or all when none is. */
  rebuild: boolean;
  signal?: AbortSignal;
}

/**
 * The toolchain phase as steps (pipeline/steps.ts): check the farm, read and order the recipes, then
 * one step per package — fetch on the host through the source cache, copy the tree and
 * the package's workspace into the client container (/iglu/tree, as every phase sees the
 * tree: packages/workspace.ts) and, of the packages built before it, the toolchain ones and
 * those it declares into its /sysroot (musl's headers for compiler-rt, compiler-rt for
 * musl), build and package there with the target's compilers (chroot/target-bin, also at
 * /usr/bin/cc and the rest) reaching the farm's live tasks through distcc, `-j` twice the farm's
 * slots, count its compiles (farm/distcc-log.ts), copy its out/ back through the Engine API,
 * pack the main package and each subpackage (packages/outputs.ts). `bad` GNU tools come
 * from the farm image. The caller disposes `state.client` in a finally (see `runToolchain`).
 * @throws IgluError for no farm, a farm without running tasks, an unknown package, a
 *   source missing while offline or a sha256 mismatch, and a failed build (log tail)
 */
export async function toolchainSteps(o: ToolchainOptions, state: ToolchainState): Promise<Step<ToolchainState>[]> {
  const paths = new PackagePaths(o.workdir);
  const cache = SourceCache.of(o.workdir, o.config.sources);
  const recipes = await readTree(o.tree);
  const plan = planBuild(recipes, o.packages.length ? o.packages : o.config.toolchain.packages, [], { badFromBuildEnv: true });
  const byName = new Map(recipes.map((r) => [r.name, r]));
  state.order = plan.order.map((n) => byName.get(n)!);
  const steps: Step<ToolchainState>[] = [
    {
      title: `farm ${o.config.farm.name}`,
      run: async (s) => {
        const farm = await farmForBuilds(o.engine, o.config.farm, { tasksOptional: o.local, noFarmHint: 'start it with iglu farm up' });
        s.farm = farm.status;
        s.image = farm.image;
        return o.local
          ? 'compiling locally in the client container (--local)'
          : `${s.farm.hosts.length} tasks, ${s.farm.slots} slots: DISTCC_HOSTS="${s.farm.distccHosts}"`;
      },
    },
  ];
  for (const recipe of state.order) {
    steps.push({
      title: `${recipe.name} ${recipe.pkgver}`,
      run: (s, output) => abortable(buildOne(recipe, s, output), o.signal, `toolchain build of ${recipe.name}`),
    });
  }
  return steps;

  async function buildOne(recipe: RecipeMeta, s: ToolchainState, output: (line: string) => void): Promise<string> {
    const started = Date.now();
    const version = `${recipe.pkgver}-${recipe.pkgrel}`;
    const tarball = paths.tarball(recipe.name, recipe.pkgver);
    const manifestFile = paths.manifest(recipe.name, recipe.pkgver);
    const logFile = paths.logFile(recipe.name);
    const sha = await recipeHash(recipe.file);
    const result: ToolchainPackage = {
      name: recipe.name,
      version,
      action: 'up to date',
      tarball,
      manifest: manifestFile,
      log: logFile,
      seconds: 0,
      compiles: null,
    };
    // --rebuild rebuilds what was named (all when nothing was); deps pulled in stay if up to date
    const rebuild = o.rebuild && (o.packages.length === 0 || o.packages.includes(recipe.name));
    if (!rebuild && upToDate(await readManifest(manifestFile), sha, (await cache.readLock()).sources)) {
      s.packages.push(result);
      return 'up to date';
    }
    output('fetch (source cache)');
    const fetched = await fetchPackage(recipe, sha, { paths, cache, offline: o.offline, signal: o.signal });
    const first = !s.client;
    s.client ??= await BuildClient.start(o.engine, {
      image: s.image!,
      network: o.config.farm.network,
      labels: labelsFor('client', o.config.farm.name, ownerLabel()),
    });
    const client = s.client;
    const ws = packageWorkspace(paths, recipe);
    // the tasks' compilers must make the client's objects byte for byte (the others are
    // left out); checked once per client, while the files go in: the canary uses the
    // container's own clang (/usr/lib/llvm-*/bin in the farm image, not the /usr/bin links
    // useTargetCompilers makes) and /tmp, none of what is copied
    const verify = first && !o.local;
    output(
      `copy the runner, the recipe tree and the workspace into the client container${verify ? `; verify the compilers of ${s.farm!.hosts.length} tasks (a canary object each)` : ''}`,
    );
    // the client's sysroot holds, among the packages built before it, the toolchain
    // (config.toolchain.packages: musl's headers for compiler-rt, compiler-rt's builtins for
    // musl's libc.so) and what the recipe declares — as a chroot build's sysroot holds the
    // toolchain and its declared deps. Iglunix's own musl declares no compiler-rt.
    const wants = new Set([...o.config.toolchain.packages, ...recipe.deps, ...recipe.mkdeps]);
    const earlier = s.packages.filter((p) => wants.has(p.name));
    const cleared = client.clear([TREE_IN, RUN_IN, SYSROOT]);
    const [verified] = await Promise.all([
      verify ? verifiedFarm(o.engine, client.id, o.config.farm, s.farm!, runnerEnv().TRIPLE!) : undefined,
      cleared.then(async () => {
        for (const p of earlier) await client.installTarball(p.tarball, SYSROOT);
        await client.useTargetCompilers(TARGET_BIN, SYSROOT);
      }),
      cleared.then(async () => {
        await client.copyIn(path.dirname(RUNNER_SCRIPT), RUNNER_IN);
        await client.copyIn(ws.tree, TREE_IN, { skip: treeOutputs });
        await client.copyIn(path.join(ws.layers, 'upper'), TREE_IN);
      }),
    ]);
    if (earlier.length) output(`installed ${earlier.map((p) => `${p.name} ${p.version}`).join(', ')} into ${SYSROOT}`);
    if (verified) {
      s.refused = verified.refused;
      for (const r of verified.refused) output(refusedLine(r));
      s.farm = verified.status;
    }
    await startBuildIn(paths, recipe.name);
    const jobs = o.local ? 2 : farmJobs(s.farm!.slots);
    const building = o.local ? `build, -j${jobs}, local` : `build through distcc, -j${jobs} (log: ${logFile})`;
    output(building);
    const env: Record<string, string> = {
      ...runnerEnv(),
      JOBS: String(jobs),
      // the target's compilers first (cc, c++, clang, clang++, ld, ar), as in the build
      // root; they reach the farm through distcc (IGLU_COMPILER_LAUNCHER)
      PATH: BUILD_PATH,
      HOME: '/root',
      SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH),
      ...workspaceEnv(ws),
      ...(o.local ? { IGLU_COMPILER_LAUNCHER: '' } : { IGLU_COMPILER_LAUNCHER: 'distcc', DISTCC_HOSTS: s.farm!.distccHosts, ...compileLogEnv() }),
    };
    const code = await (async () => {
      // the farm's use, live, under the step (its tasks' distccd stats, read from the client)
      await using _use = o.local ? undefined : watchFarmUse(o.engine, client.id, s.farm!.hosts, (line) => output(`${building}; ${line}`));
      return await client.run(['sh', '-c', `mkdir -p ${RUN_IN} && exec mksh ${RUNNER_IN}/${path.basename(RUNNER_SCRIPT)} bp`], env, logFile);
    })().finally(() => client.reap());
    if (code !== 0) throw await phaseFailed(recipe, 'build', logFile);
    output('copy the packages back and pack them');
    const outRoot = path.join(ws.dir, 'out');
    const names = new Map(s.farm!.hosts.map((h) => [h.ip, h.hostname]));
    const [, logs] = await Promise.all([
      client.copyOut(path.posix.join(TREE_IN, ws.rel, 'out'), outRoot),
      o.local ? undefined : Promise.all([client.readText(`${RUN_IN}/${COMPILE_LOGS.distcc}`), client.readText(`${RUN_IN}/${COMPILE_LOGS.wrapper}`)]),
    ]);
    let compiles: CompileCounts | null = null;
    if (logs) {
      const [distccLog, wrapperLog] = logs;
      await writeFile(logFile.replace(/\.log$/, '.distcc.log'), distccLog);
      compiles = countCompiles(distccLog, wrapperLog, (ip) => names.get(ip) ?? ip);
    }
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    await packOutputs(recipe, {
      paths,
      outRoot,
      within: ws.dir,
      recipeSha256: sha,
      sources: fetched.sources,
      checkElf: false,
      epoch: SOURCE_DATE_EPOCH,
      build: { at: new Date(started).toISOString(), seconds, where: 'farm', ...(compiles ? { compiles } : {}) },
    });
    await dropWorkspace(paths, recipe.name);
    s.packages.push({ ...result, action: 'built', seconds, compiles });
    return `built in ${seconds} s${compiles ? `; compiles: ${formatCounts(compiles, (ip) => names.get(ip))}` : ''}${refusedSuffix(s.refused)}`;
  }
}

/** Sums the compile counts of the packages built in this run. */
export function toolchainResult(o: ToolchainOptions, s: ToolchainState): ToolchainResult {
  return {
    farm: o.config.farm.name,
    mode: o.local ? 'local' : 'farm',
    distccHosts: o.local ? '' : (s.farm?.distccHosts ?? ''),
    jobs: o.local ? 2 : farmJobs(s.farm?.slots ?? 0),
    packages: s.packages,
    compiles: s.packages.reduce<CompileCounts>((sum, p) => (p.compiles ? addCounts(sum, p.compiles) : sum), NO_COMPILES),
    refused: refusedReports(s.refused),
  };
}

import { chown, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SandboxBind as Bind } from '../sandbox/argv.js';
import type { RecipeMeta } from '../recipes/read.js';
import { SANDBOX_ID } from '../sandbox/argv.js';
import { sandboxOwned } from '../sandbox/workspace.js';
import { IgluError } from '../errors.js';
import { exists } from '../util/exists.js';
import type { Workdir } from '../layout/workdir.js';
import { readRegularFile } from '../util/safe-fs.js';
import type { CompileCounts } from './manifest.js';
import { PackagePaths } from '../layout/package-paths.js';
import { RUN_IN, TREE_IN } from '../layout/in-root.js';

/** The two logs a farm build counts its compiles from (farm/distcc-log.ts), in RUN_IN. */
export const COMPILE_LOGS = { distcc: 'distcc.log', wrapper: 'compiles.log' } as const;

/**
 * The environment that makes a farm build write COMPILE_LOGS into RUN_IN: distcc's client
 * log (DISTCC_LOG, distcc(1) "ENVIRONMENT VARIABLES") and the target compiler wrapper's
 * count (IGLU_COMPILE_LOG, chroot/target-bin/cc). Without DISTCC_VERBOSE a log file gets
 * distcc's INFO messages and above (its trace setup: "if you set a file, you get INFO"),
 * which hold every line countCompiles reads: about 6 lines a compile instead of about 130
 * (musl: 8 thousand lines instead of 181 thousand, each an append by the client).
 */
export function compileLogEnv(): Record<string, string> {
  return { DISTCC_LOG: `${RUN_IN}/${COMPILE_LOGS.distcc}`, IGLU_COMPILE_LOG: `${RUN_IN}/${COMPILE_LOGS.wrapper}` };
}

/**
 * A build's compile counts (farm/distcc-log.ts countCompiles, with the farm's node names)
 * from the COMPILE_LOGS in the workspace's run/; a log that is not there counts as empty.
 */
export async function readCompileCounts(
  ws: Pick<PackageWorkspace, 'run'>,
  counts: (distccLog: string, wrapperLog: string) => CompileCounts,
): Promise<CompileCounts> {
  const read = (name: string) => readRegularFile(path.join(ws.run, name)).catch(() => '');
  return counts(await read(COMPILE_LOGS.distcc), await read(COMPILE_LOGS.wrapper));
}

/**
 * One package's workspace, `build/<pkgname>/ws/` in the work directory. Recipes run in
 * `<tree>/<category>/<dir>` as Iglunix's iglupkg runs them (srcdir `./src`, pkgdir
 * `./out/<pkgname>.<pkgver>`, patches reached as `../x` and `../../x.patch`), but they see
 * the tree through an overlay: the user's tree read-only below, `layers/upper` above, so
 * everything a recipe writes lands here and never in the tree (aoinb's base / workspace
 * layering). `run/` holds iglu's own files of the build (distcc.log).
 */
export interface PackageWorkspace {
  /** build/<pkgname>/ws */
  dir: string;
  /** The recipe tree's root on the host (the overlay's lower layer). */
  tree: string;
  /** `<category>/<dir>`: the recipe's directory relative to the tree. */
  rel: string;
  /** ws/layers: holds upper/ and work/ (SandboxBind.overlay). */
  layers: string;
  /** ws/layers/upper/<rel>: what the recipe wrote into its own directory, on the host. */
  recipeDir: string;
  /** ws/run: iglu's own writable files of the build. */
  run: string;
  /** The recipe's build.sh as every phase sees it. */
  recipeIn: string;
}

/**
 * The workspace of `recipe` (a `<tree>/<category>/<dir>/build.sh` as readTree finds it).
 * Pure but for the name checks of PackagePaths.
 * @throws IgluError for a pkgname that is not one path component
 */
export function packageWorkspace(paths: PackagePaths, recipe: Pick<RecipeMeta, 'name' | 'file'>): PackageWorkspace {
  const dir = paths.workspace(recipe.name);
  const recipeDir = path.dirname(recipe.file);
  const tree = path.resolve(recipeDir, '../..');
  const rel = path.relative(tree, recipeDir);
  const layers = path.join(dir, 'layers');
  return {
    dir,
    tree,
    rel,
    layers,
    recipeDir: path.join(layers, 'upper', rel),
    run: path.join(dir, 'run'),
    recipeIn: path.posix.join(TREE_IN, rel, 'build.sh'),
  };
}

/**
 * Makes the workspace afresh: ws/ emptied, overlayfs' upper and work directories, and
 * the recipe's own directory in the upper layer owned by the sandbox's uid (SANDBOX_ID,
 * when iglu runs as root), so a recipe may create src/ and out/ beside its build.sh and
 * nothing else of the tree. run/ is the sandbox's too.
 * @throws IgluError (after removing what it made) when the directories cannot be made
 */
export async function makeWorkspace(ws: PackageWorkspace): Promise<void> {
  await rm(ws.dir, { recursive: true, force: true });
  try {
    await mkdir(path.join(ws.layers, 'work'), { recursive: true, mode: 0o755 });
    await mkdir(ws.recipeDir, { recursive: true, mode: 0o755 });
    if (process.getuid?.() === 0) await chown(ws.recipeDir, SANDBOX_ID, SANDBOX_ID);
    await sandboxOwned(ws.run);
  } catch (err) {
    // Node's recursive mkdir reports a full disk (ENOSPC) as ENOENT: say what is likely
    await rm(ws.dir, { recursive: true, force: true }).catch(() => undefined);
    throw new IgluError(`cannot make the workspace ${ws.dir}: ${(err as Error).message}`, {
      hint: `is the work directory's disk full? (df -h ${path.dirname(ws.dir)}); nothing of the workspace was kept`,
      cause: err,
    });
  }
}

/** The binds that give a phase the tree's overlay view and run/ (see PackageWorkspace). Pure. */
export function workspaceBinds(ws: PackageWorkspace): Bind[] {
  return [
    { host: ws.tree, inside: TREE_IN, readOnly: false, overlay: ws.layers },
    { host: ws.run, inside: RUN_IN, readOnly: false },
  ];
}

/** The runner's variables that place a phase in the workspace: the recipe's path inside. Pure. */
export function workspaceEnv(ws: PackageWorkspace): Record<string, string> {
  return { IGLU_RECIPE: ws.recipeIn };
}

/** The recipe's srcdir on the host (`<rel>/src` in the upper layer). Pure. */
export function srcdirOf(ws: PackageWorkspace): string {
  return path.join(ws.recipeDir, 'src');
}

/**
 * Whether a path of a tree (`./<category>/<dir>/…`, as node-tar's filter gives it) is
 * not recipe input: the version control directory, or the `src/` and `out/` a run of
 * Iglunix's own iglupkg leaves beside a build.sh. Pure.
 */
export function treeOutputs(rel: string): boolean {
  return /^(\.git(\/|$)|[^/]+\/[^/]+\/(src|out)(\/|$))/.test(rel.replace(/^\.\//, ''));
}

/**
 * What `chroot enter --package P` adds to the build root: P's workspace over the tree
 * (binds), IGLU_RECIPE, srcdir and pkgdir (env), and its srcdir — or the recipe's
 * directory before a fetch — as the working directory, all as paths inside; and the
 * sysroot that build saw at /sysroot when it is kept (build/<pkg>/sysroot).
 * @param recipes the tree's recipes (readTree); P may be a pkgname or a subpackage name
 * @throws IgluError when no recipe provides P, or P has no workspace (dropped after a
 *   good build, or never fetched)
 */
export async function workspaceView(
  workdir: Workdir,
  recipes: RecipeMeta[],
  name: string,
): Promise<{ binds: Bind[]; env: Record<string, string>; cwd: string }> {
  const recipe = recipes.find((r) => r.name === name) ?? recipes.find((r) => r.provides.includes(name));
  if (!recipe) throw new IgluError(`no recipe in the tree provides "${name}"`, { hint: 'check --tree and the package name (iglu chroot plan lists them)' });
  const ws = packageWorkspace(new PackagePaths(workdir), recipe);
  if (!(await exists(ws.layers)))
    throw new IgluError(`${recipe.name} has no workspace in ${workdir.root}`, {
      hint: 'a workspace is kept only after a failed build; run iglu chroot fetch or build for it first',
    });
  const dir = path.posix.dirname(ws.recipeIn);
  const srcdir = `${dir}/src`;
  // the sysroot the failed build saw, when it is still there
  const sysroot = path.join(new PackagePaths(workdir).buildDir(recipe.name), 'sysroot');
  const sysrootBind: Bind[] = (await exists(sysroot)) ? [{ host: sysroot, inside: '/sysroot', readOnly: true }] : [];
  return {
    binds: [...workspaceBinds(ws), ...sysrootBind],
    env: { ...workspaceEnv(ws), srcdir, pkgdir: `${dir}/out/${recipe.name}.${recipe.pkgver}` },
    cwd: (await exists(srcdirOf(ws))) ? srcdir : dir,
  };
}

/** Removes the workspace (after a package is packed: the next build fetches afresh from the cache). */
export async function dropWorkspace(paths: PackagePaths, name: string): Promise<void> {
  await rm(paths.buildDir(name), { recursive: true, force: true });
}

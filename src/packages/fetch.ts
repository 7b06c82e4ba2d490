import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, IgluError } from '../errors.js';
import type { RecipeMeta } from '../recipes/read.js';
import { runnerEnv } from '../recipes/read.js';
import type { SourceCache, SourceMirror } from '../sources/cache.js';
import type { LockedSource } from '../sources/lock-file.js';
import { SourceBroker } from '../sources/broker.js';
import { SHIM_JS, writeShims } from '../sources/shims.js';
import { SANDBOX_ENV } from '../sandbox/workspace.js';
import type { SandboxSpec } from '../sandbox/argv.js';
import { runSandboxed } from '../sandbox/run.js';
import { withinLimits, type BuildLimits } from '../sandbox/limits.js';
import { exists } from '../util/exists.js';
import { tailOf } from '../util/tail.js';
import { type PackagePaths } from '../layout/package-paths.js';
import { makeWorkspace, packageWorkspace, srcdirOf, workspaceBinds, workspaceEnv, type PackageWorkspace } from './workspace.js';
import { FETCH_IN, RUNNER_SCRIPT } from '../layout/in-root.js';

/** A source a recipe's fetch() used. */
export type UsedSource = { url: string } & LockedSource;

/** What the fetch phase did for one package. */
export interface FetchOutcome {
  sources: UsedSource[];
  /** URLs whose content came from the mirror (the farm's package store) into the source cache. */
  mirrored?: string[];
  /** True when src/ was already fetched from the same recipe and reused. */
  reused: boolean;
}

/** iglu's installation (the repository: dist/, node_modules/, chroot/, package.json). */
const APP_ROOT = path.resolve(path.dirname(RUNNER_SCRIPT), '..');

/**
 * The fetch phase, in a sandbox (sandbox/argv.ts): the recipe's fetch() runs through the
 * package runner (`iglupkg.sh f`) as an unprivileged uid with the host's /usr and /etc
 * read-only, the recipe tree through an overlay whose upper layer is the package's
 * workspace (packages/workspace.ts: whatever fetch() writes lands there), and no network at all: `curl`, `wget` and `git` are shims that ask the source
 * broker on the host (sources/broker.ts) for each URL, which alone downloads (never when
 * offline) and records what was served. A src/ fetched by the same recipe is reused only
 * while no build has started in it (fetched.json is removed before a build starts), so a
 * killed build's half-built tree is never reused. With `mirror`, a URL the source cache
 * lacks is looked for there before the network (SourceCache.ensure). With `limits` (the
 * package's, as its build gets them), fetch() runs within them: processes, memory per
 * process and /tmp's size (sandbox/argv.ts), and the wall time (withinLimits).
 * @param recipeSha256 the recipe's hash (recipe-hash.ts)
 * @throws IgluError with the log's tail and path when fetch() fails (an offline cache
 *   miss or a sha256 mismatch is named in that tail; a limit hit, with its value), or
 *   "timed out" past limits.wallSeconds
 */
export async function fetchPackage(
  recipe: RecipeMeta,
  recipeSha256: string,
  opts: { paths: PackagePaths; cache: SourceCache; offline: boolean; mirror?: SourceMirror; signal?: AbortSignal; limits?: BuildLimits },
): Promise<FetchOutcome> {
  const dir = opts.paths.buildDir(recipe.name);
  const ws = packageWorkspace(opts.paths, recipe);
  const stamp = await readStamp(opts.paths.fetchStamp(recipe.name));
  if (stamp?.recipe === recipeSha256 && (await exists(path.join(srcdirOf(ws), '.fetched')))) return { sources: stamp.sources, reused: true };
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await makeWorkspace(ws);
  const shims = await writeShims(opts.paths.shimDir, nodeInside(), path.join(FETCH_IN.app, path.relative(APP_ROOT, SHIM_JS)));
  const logFile = opts.paths.logFile(recipe.name);
  await mkdir(path.dirname(logFile), { recursive: true });
  await writeFile(logFile, `== ${recipe.name} ${recipe.pkgver}: fetch (${new Date().toISOString()})\n`);
  await mkdir(opts.cache.dir, { recursive: true });
  await using broker = await SourceBroker.start(path.join(opts.paths.runDir, `broker.${process.pid}`), opts.cache, opts.offline, opts.mirror);
  const spec = fetchSpec(recipe, { ws, shims, cache: opts.cache.dir, broker: path.dirname(broker.socket) });
  const fetch = async (signal: AbortSignal | undefined) => {
    const res = await runSandboxed(opts.limits ? { ...spec, limits: opts.limits } : spec, { file: logFile }, { signal });
    if (res.exitCode !== 0 || res.canceled) throw await phaseFailed(recipe, 'fetch', logFile, res.canceled);
  };
  if (opts.limits)
    await withinLimits({ name: recipe.name, phase: 'fetch', limits: opts.limits, logFile, ...(opts.signal ? { signal: opts.signal } : {}) }, fetch);
  else await fetch(opts.signal);
  const sources = [...broker.served].map(([url, s]) => ({ url, ...s })).sort((a, b) => a.url.localeCompare(b.url));
  await writeFile(opts.paths.fetchStamp(recipe.name), `${JSON.stringify({ recipe: recipeSha256, sources })}\n`);
  return { sources, reused: false, ...(broker.mirrored.size ? { mirrored: [...broker.mirrored] } : {}) };
}

/**
 * Marks a package's fetched sources as no longer pristine: called before a build starts
 * in them, so an interrupted build is fetched again from the cache next time.
 */
export async function startBuildIn(paths: PackagePaths, name: string): Promise<void> {
  await rm(paths.fetchStamp(name), { force: true });
}

/** The fetch sandbox of one recipe (see fetchPackage). Pure but for process.execPath. */
export function fetchSpec(recipe: Pick<RecipeMeta, 'file'>, where: { ws: PackageWorkspace; shims: string; cache: string; broker: string }): SandboxSpec {
  const app = ['dist', 'node_modules', 'chroot', 'package.json'].map((p) => ({
    host: path.join(APP_ROOT, p),
    inside: path.join(FETCH_IN.app, p),
    readOnly: true,
  }));
  const node = nodeInside() === process.execPath ? [] : [{ host: path.dirname(process.execPath), inside: FETCH_IN.node, readOnly: true }];
  return {
    root: 'host',
    binds: [
      ...app,
      ...node,
      ...workspaceBinds(where.ws),
      { host: where.shims, inside: FETCH_IN.shims, readOnly: true },
      { host: where.cache, inside: FETCH_IN.sources, readOnly: true },
      { host: where.broker, inside: FETCH_IN.broker, readOnly: true },
    ],
    argv: ['mksh', path.join(FETCH_IN.app, 'chroot', path.basename(RUNNER_SCRIPT)), 'f'],
    env: {
      ...runnerEnv(),
      ...SANDBOX_ENV,
      PATH: `${FETCH_IN.shims}:/usr/local/bin:/usr/bin:/bin`,
      HOME: '/tmp',
      ...workspaceEnv(where.ws),
      IGLU_SOURCE_CACHE: FETCH_IN.sources,
      IGLU_BROKER: `${FETCH_IN.broker}/sock`,
      IGLU_SHIM_DIR: FETCH_IN.shims,
    },
    hostname: 'iglu-fetch',
  };
}

/** Node as the fetch sandbox sees it: the host's own path when it is under /usr, else bound at /iglu/node. */
function nodeInside(): string {
  return process.execPath.startsWith('/usr/') ? process.execPath : path.join(FETCH_IN.node, path.basename(process.execPath));
}

async function readStamp(file: string): Promise<{ recipe: string; sources: UsedSource[] } | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { recipe: string; sources: UsedSource[] };
  } catch {
    return undefined;
  }
}

/**
 * The error for a failed phase: the log's tail, and the whole log's path as the hint. A
 * recipe of the `bad` category (GNU tools Iglunix builds only to bootstrap, RECIPES.md)
 * adds the way around it: the build environment's own tool, through chroot.base.
 */
export async function phaseFailed(recipe: RecipeMeta, phase: string, logFile: string, canceled = false): Promise<IgluError> {
  if (canceled) return new IgluError(`${recipe.name}: ${phase} interrupted`, { hint: `the log so far is ${logFile}`, exitCode: ExitCode.interrupted });
  const instead =
    recipe.category === 'bad'
      ? `; ${recipe.name} is a bad: tool, which the build environment has: to take it from there instead of building it, add it to chroot.base in iglu.yaml (with what is listed there, e.g. [llvm, ${recipe.name}])`
      : '';
  return new IgluError(`${recipe.name} ${recipe.pkgver}: ${phase} failed (${recipe.file}):\n${await tailOf(logFile, 25)}`, {
    hint: `the whole log is ${logFile}${instead}`,
  });
}

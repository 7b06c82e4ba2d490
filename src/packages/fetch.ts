import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { ExitCode, IgluError } from '../errors.js';
import type { RecipeMeta } from '../recipes/read.js';
import { runnerEnv } from '../recipes/read.js';
import type { SourceCache } from '../sources/cache.js';
import type { LockedSource } from '../sources/lock-file.js';
import { writeShims } from '../sources/shims.js';
import { exists } from '../util/exists.js';
import { tailOf } from '../util/tail.js';
import { RUNNER_SCRIPT, type PackagePaths } from './paths.js';

/** A source a recipe's fetch() used. */
export type UsedSource = { url: string } & LockedSource;

/** What the fetch phase did for one package. */
export interface FetchOutcome {
  sources: UsedSource[];
  /** True when src/ was already fetched from the same recipe and reused. */
  reused: boolean;
}

/**
 * The fetch phase on the host: runs the recipe's fetch() through the package runner
 * (`iglupkg.sh f`) in `build/<pkgname>/src`, with `curl`, `wget` and `git` answered by
 * the source cache. The only phase with network, and only through the cache. A src/
 * already fetched by the same recipe (same recipe hash) and not built in yet is reused.
 * @param recipeSha256 the recipe's hash (recipe-hash.ts)
 * @throws IgluError with the log's tail and path when fetch() fails (an offline cache
 *   miss or a sha256 mismatch is named in that tail)
 */
export async function fetchPackage(recipe: RecipeMeta, recipeSha256: string, opts: { paths: PackagePaths; cache: SourceCache; offline: boolean; signal?: AbortSignal }): Promise<FetchOutcome> {
  const dir = opts.paths.buildDir(recipe.name);
  const stamp = path.join(dir, 'recipe.sha256');
  const used = path.join(dir, 'sources.used');
  const previous = await readFile(stamp, 'utf8').catch(() => '');
  // reuse only pristine sources: a src/ something was built in starts over
  if (previous.trim() === recipeSha256 && (await exists(path.join(dir, 'src', '.fetched'))) && !(await exists(path.join(dir, 'src', '.built')))) {
    return { sources: parseUsed(await readFile(used, 'utf8').catch(() => '')), reused: true };
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const shims = await writeShims(opts.paths.shimDir);
  const logFile = opts.paths.logFile(recipe.name);
  await mkdir(path.dirname(logFile), { recursive: true });
  await writeFile(logFile, `== ${recipe.name} ${recipe.pkgver}: fetch (${new Date().toISOString()})\n`);
  const to = { file: logFile, append: true };
  const res = await execa('mksh', [RUNNER_SCRIPT, 'f'], {
    env: {
      ...runnerEnv(),
      PATH: `${shims}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: process.env.HOME ?? '/root',
      IGLU_RECIPE: recipe.file,
      IGLU_BUILD_DIR: dir,
      IGLU_SOURCE_CACHE: opts.cache.dir,
      IGLU_OFFLINE: opts.offline ? '1' : '0',
      IGLU_SOURCES_USED: used,
      IGLU_SHIM_DIR: shims,
    },
    extendEnv: false,
    stdin: 'ignore',
    stdout: to,
    stderr: to,
    reject: false,
    cancelSignal: opts.signal,
  });
  if (res.failed) throw await phaseFailed(recipe, 'fetch', logFile, res.isCanceled);
  await writeFile(stamp, `${recipeSha256}\n`);
  return { sources: parseUsed(await readFile(used, 'utf8').catch(() => '')), reused: false };
}

/** Lines "URL SHA256 SIZE" written by the shims; the last line for a URL wins. */
export function parseUsed(text: string): UsedSource[] {
  const byUrl = new Map<string, UsedSource>();
  for (const line of text.split('\n')) {
    const [url, sha256, size] = line.trim().split(/\s+/);
    if (url && sha256 && size) byUrl.set(url, { url, sha256, size: Number(size) });
  }
  return [...byUrl.values()].sort((a, b) => a.url.localeCompare(b.url));
}

/** The error for a failed phase: the log's tail, and the whole log's path as the hint. */
export async function phaseFailed(recipe: RecipeMeta, phase: string, logFile: string, canceled = false): Promise<IgluError> {
  if (canceled) return new IgluError(`${recipe.name}: ${phase} interrupted`, { hint: `the log so far is ${logFile}`, exitCode: ExitCode.interrupted });
  return new IgluError(`${recipe.name} ${recipe.pkgver}: ${phase} failed (${recipe.file}):\n${await tailOf(logFile, 25)}`, { hint: `the whole log is ${logFile}` });
}

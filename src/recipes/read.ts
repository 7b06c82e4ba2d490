import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { IgluError } from '../errors.js';
import { limitHit, READ_LIMITS } from '../sandbox/limits.js';
import { runSandboxed } from '../sandbox/run.js';
import { exists } from '../util/exists.js';
import { tailLines } from '../util/tail.js';
import { isPathComponent } from '../util/names.js';
import { badCategoryNames, splitDeps, type RecipeDeps } from './plan.js';
import { CHROOT_SCRIPTS, RECIPE_IN, RUNNER_IN } from '../layout/in-root.js';
import type { RecipeCache } from './read-cache.js';

/** A recipe's metadata, read by sourcing its build.sh. */
export interface RecipeMeta extends RecipeDeps {
  category: string;
  pkgver: string;
  pkgrel: string;
  desc: string;
  /** GNU packages the build needs through the `bad` wrapper. */
  bad: string[];
  /** Which of fetch, build, package, license, backup and package_<e> (for each ext entry) the recipe defines. */
  functions: string[];
  /** Shared libraries the package provides (`shlibs="libc.so"`). */
  shlibs: string[];
}

/**
 * The runner's variables a recipe may read at top level (RECIPES.md, "Environment"; as
 * Iglunix's iglupkg sets them for a native build: FOR_CROSS and WITH_CROSS empty, the
 * cross flags aimed at the target's sysroot). Pure.
 */
export function runnerEnv(arch = 'x86_64'): Record<string, string> {
  const triple = `${arch}-unknown-linux-musl`;
  const crossDir = `/usr/${arch}-linux-musl`;
  const cross = `--target=${triple} --sysroot=${crossDir}`;
  return {
    ARCH: arch,
    HOST_ARCH: arch,
    TRIPLE: triple,
    HOST_TRIPLE: triple,
    CC: 'cc',
    CXX: 'c++',
    AR: 'ar',
    RANLIB: 'ranlib',
    CFLAGS: '-O3',
    CXXFLAGS: '-O3',
    FOR_CROSS: '',
    WITH_CROSS: '',
    FOR_CROSS_DIR: crossDir,
    WITH_CROSS_DIR: crossDir,
    CROSS_EXTRA_CFLAGS: cross,
    CROSS_EXTRA_LDFLAGS: cross,
    CROSS_EXTRA_CXXFLAGS: `${cross} -nostdinc++ -isystem ${crossDir}/include/c++/v1/`,
    muon_base_args: '-Dbuildtype=release -Dprefix=/usr -Dlibexecdir=lib -Ddefault_library=shared -Dwarning_level=0 -Dwerror=false',
    JOBS: '1',
    PATH: '/usr/bin:/bin',
  };
}

/**
 * Sources a build.sh in mksh — the shell Iglunix uses; real recipes use syntax dash
 * rejects — with the runner's variables and helpers (chroot/recipe-env.sh) set, and
 * prints the variables and which phase functions exist. Stdout of the recipe itself is
 * discarded.
 */
const READER = `
. "$2/recipe-env.sh"
cd "\${1%/*}" || exit 3
. "$1" >/dev/null </dev/null || exit 4
for v in pkgname pkgver pkgrel deps mkdeps rdeps bad ext subpkgs shlibs desc; do
  eval "val=\\\${$v-}"; print -r -- "$v=$(print -r -- "$val" | tr '\\n' ' ')"
done
for f in fetch build package license backup $(print -r -- "\${ext:-}" | tr ':' '\\n' | sed 's/^/package_/'); do typeset -f $f >/dev/null 2>&1 && print -r -- "fn=$f"; done
exit 0`;

/**
 * Reads one recipe's metadata without running any of its phases. The recipe is sourced
 * in a sandbox (sandbox/argv.ts) that sees only the recipe's own directory (read-only)
 * and the host's tools, with no network and no writable place but a tmpfs /tmp, as an
 * unprivileged uid, within READ_LIMITS (sandbox/limits.ts: 10 seconds, 32 processes,
 * 256 MiB each, a 16 MiB /tmp).
 * @param file absolute path of `<category>/<pkg>/build.sh`
 * @param categories the tree's category names (to read `bad:gmake` style names)
 * @param signal stops the reading sandbox when it aborts
 * @throws IgluError naming the file for a shell error, a limit hit (named with its value),
 *   a missing pkgname/pkgver, or a pkgname, pkgver, pkgrel or subpackage name that is not
 *   one path component; the signal's reason once it aborts
 */
export async function readRecipe(file: string, categories: ReadonlySet<string>, env = runnerEnv(), signal?: AbortSignal): Promise<RecipeMeta> {
  const { vars, functions } = await sourceRecipe(file, env, signal);
  checkNames(file, vars);
  const category = path.basename(path.dirname(path.dirname(file)));
  const list = (key: string) => splitDeps(vars.get(key) ?? '', categories);
  const bad = [...new Set([...list('bad'), ...['deps', 'mkdeps'].flatMap((k) => badCategoryNames(vars.get(k) ?? '', categories))])];
  return {
    name: vars.get('pkgname')!,
    file,
    category,
    pkgver: vars.get('pkgver')!,
    pkgrel: vars.get('pkgrel') || '0',
    desc: vars.get('desc') ?? '',
    deps: list('deps'),
    mkdeps: [...new Set([...list('mkdeps'), ...bad])],
    bad,
    // an ext entry without its package_<e>() makes no subpackage (iglupkg ignores it)
    provides: [
      ...list('ext')
        .filter((e) => functions.includes(`package_${e}`))
        .map((e) => `${vars.get('pkgname')}-${e}`),
      ...list('subpkgs'),
    ],
    functions,
    shlibs: (vars.get('shlibs') ?? '').split(/\s+/).filter(Boolean),
  };
}

/**
 * Sources a recipe in the reading sandbox (READER) and parses what it printed.
 * @returns its variables, and the phase functions it defines
 * @throws IgluError naming the file when it takes over READ_LIMITS' time, hits another of
 *   them (even when it sources cleanly otherwise), or does not source cleanly
 */
async function sourceRecipe(file: string, env: Record<string, string>, signal?: AbortSignal): Promise<{ vars: Map<string, string>; functions: string[] }> {
  const res = await runSandboxed(
    {
      root: 'host',
      binds: [
        { host: path.dirname(file), inside: RECIPE_IN, readOnly: true },
        { host: CHROOT_SCRIPTS, inside: RUNNER_IN, readOnly: true },
      ],
      argv: ['mksh', '-c', READER, 'iglu-read', `${RECIPE_IN}/${path.basename(file)}`, RUNNER_IN],
      env: { ...env, PATH: `${env.PATH ?? ''}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: '/tmp' },
      hostname: 'iglu-read',
      limits: READ_LIMITS,
    },
    'capture',
    { timeoutMs: READ_LIMITS.wallSeconds * 1000, ...(signal ? { signal } : {}) },
  );
  signal?.throwIfAborted();
  const only = { hint: 'top-level code in build.sh must only set variables and define functions (fetch() and build() get limits.* of iglu.yaml)' };
  // a fork bomb's shell retries its forks until the time is up: the limit it hit first is named
  const hit = limitHit(res.stderr, READ_LIMITS, (k) => `a recipe's top level: ${k}`);
  if (hit) throw new IgluError(`${file}: reading the recipe hit a limit: ${hit}`, only);
  if (res.timedOut)
    throw new IgluError(
      `${file}: reading the recipe took over ${READ_LIMITS.wallSeconds} s (a recipe's top level: wallSeconds = ${READ_LIMITS.wallSeconds})`,
      only,
    );
  if (res.exitCode !== 0) {
    throw new IgluError(
      `${file}: the recipe does not source cleanly in mksh: ${tailLines(String(res.stderr), 2).replace(/\n/g, ' ') || `exit ${res.exitCode}`}`,
      { hint: 'fix the shell syntax (mksh -n build.sh shows it)' },
    );
  }
  const vars = new Map<string, string>();
  const functions: string[] = [];
  for (const line of String(res.stdout).split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    if (key === 'fn') functions.push(value);
    else vars.set(key, value);
  }
  return { vars, functions };
}

/** @throws IgluError naming the file for a missing pkgname/pkgver, or a name that is not one path component. Pure. */
function checkNames(file: string, vars: Map<string, string>): void {
  for (const required of ['pkgname', 'pkgver']) {
    if (!vars.get(required)) throw new IgluError(`${file}: no ${required}`, { hint: `set ${required}= at the top of build.sh` });
  }
  for (const key of ['pkgname', 'pkgver', 'pkgrel']) {
    const value = vars.get(key);
    if (value && !isPathComponent(value))
      throw new IgluError(`${file}: ${key} ${JSON.stringify(value)} is not one path component`, {
        hint: `${key} becomes a file name: no "/", spaces or control characters, and not . or ..`,
      });
  }
  for (const sub of [...splitDeps(vars.get('ext') ?? '', new Set()), ...splitDeps(vars.get('subpkgs') ?? '', new Set())]) {
    if (!isPathComponent(sub))
      throw new IgluError(`${file}: subpackage name ${JSON.stringify(sub)} (ext/subpkgs) is not one path component`, {
        hint: 'subpackage names become file names: no "/", spaces or control characters, and not . or ..',
      });
  }
}

/**
 * Reads every `<category>/<pkg>/build.sh` under `tree`, a few at a time, `signal`
 * checked between them.
 * A pkgname two recipes share is a warning (naming both files, through `onWarning`); the
 * first recipe by path is used.
 * @throws IgluError listing every recipe that cannot be read (each with its file), or
 *   for a tree without recipes
 */
export async function readTree(
  tree: string,
  onWarning: (message: string) => void = (m) => process.stderr.write(`iglu: warning: ${m}\n`),
  cache?: RecipeCache,
  signal?: AbortSignal,
): Promise<RecipeMeta[]> {
  const root = path.resolve(tree);
  const categories = await readdir(root, { withFileTypes: true }).catch((err: unknown) => {
    throw new IgluError(`cannot read the recipe tree ${root}`, { hint: 'point --tree at an Iglunix-format tree (<category>/<pkg>/build.sh)', cause: err });
  });
  const names = new Set(categories.filter((d) => d.isDirectory()).map((d) => d.name));
  const files: string[] = [];
  for (const cat of [...names].sort()) {
    for (const pkg of (await readdir(path.join(root, cat), { withFileTypes: true })).filter((d) => d.isDirectory())) {
      const file = path.join(root, cat, pkg.name, 'build.sh');
      if (await exists(file)) files.push(file);
    }
  }
  if (files.length === 0) throw new IgluError(`no recipes under ${root}`, { hint: 'a tree holds <category>/<pkg>/build.sh files' });
  const out: RecipeMeta[] = [];
  const problems: string[] = [];
  for (let i = 0; i < files.length; i += 8) {
    for (const r of await Promise.allSettled(files.slice(i, i + 8).map((f) => readCached(f, names, cache, signal)))) {
      if (r.status === 'fulfilled') out.push(r.value);
      else if (r.reason instanceof IgluError) problems.push(r.reason.message);
      else throw r.reason;
    }
    signal?.throwIfAborted();
  }
  // the public tree has a few (bootstrap/rust and extra/rust): the first by path is used
  for (const w of duplicateNames(out)) onWarning(w);
  const chosen = new Set<string>();
  const kept = out.sort((a, b) => a.file.localeCompare(b.file)).filter((r) => !chosen.has(r.name) && chosen.add(r.name));
  if (problems.length === 1) throw new IgluError(problems[0]!, { hint: 'fix the recipe named' });
  if (problems.length)
    throw new IgluError(`${problems.length} problems in the recipe tree ${root}:\n${problems.map((p) => `- ${p}`).join('\n')}`, {
      hint: 'fix the recipes named',
    });
  return kept;
}

/** One message per pkgname (or subpackage name) that more than one recipe claims, naming the files. Pure. */
export function duplicateNames(recipes: Pick<RecipeMeta, 'name' | 'file' | 'provides'>[]): string[] {
  const byName = new Map<string, string[]>();
  for (const r of recipes) for (const n of new Set([r.name, ...r.provides])) byName.set(n, [...(byName.get(n) ?? []), r.file]);
  return [...byName]
    .filter(([, files]) => files.length > 1)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, files]) => `pkgname "${name}" is given by ${files.length} recipes: ${files.sort().join(' and ')}; iglu uses the first`);
}

/** readRecipe, through `cache` when there is one: a recipe whose directory did not change is not read again. */
async function readCached(file: string, categories: ReadonlySet<string>, cache: RecipeCache | undefined, signal?: AbortSignal): Promise<RecipeMeta> {
  if (!cache) return readRecipe(file, categories, runnerEnv(), signal);
  const env = runnerEnv();
  // the limits in the key: a reading kept from before they held (a top-level fork bomb's) is not reused
  const key = await cache.key(file, categories, env, `${READER}\n${JSON.stringify(READ_LIMITS)}`, signal);
  const kept = await cache.get(key);
  if (kept) return kept;
  const meta = await readRecipe(file, categories, env, signal);
  await cache.put(key, meta);
  return meta;
}

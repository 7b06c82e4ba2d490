import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { exists } from '../util/exists.js';
import { splitDeps, type RecipeDeps } from './plan.js';

/** A recipe's metadata, read by sourcing its build.sh. */
export interface RecipeMeta extends RecipeDeps {
  category: string;
  pkgver: string;
  pkgrel: string;
  desc: string;
  /** GNU packages the build needs through the `bad` wrapper. */
  bad: string[];
  /** Which of fetch, build, package, license the recipe defines. */
  functions: string[];
}

/** The runner's variables a recipe may read at top level (RECIPES.md, "Environment"). */
export function runnerEnv(arch = 'x86_64'): Record<string, string> {
  return {
    ARCH: arch,
    TRIPLE: `${arch}-unknown-linux-musl`,
    HOST_TRIPLE: `${arch}-unknown-linux-musl`,
    CC: 'cc', CXX: 'c++', AR: 'ar', RANLIB: 'ranlib', CFLAGS: '-O3', CXXFLAGS: '-O3',
    JOBS: '1', PATH: '/usr/bin:/bin',
  };
}

/**
 * Sources a build.sh in mksh — the shell Iglunix uses; real recipes use syntax dash
 * rejects — with the runner's variables set and `auto_cross` stubbed, and prints the
 * variables and which phase functions exist. Stdout of the recipe itself is discarded.
 */
const READER = `
auto_cross() { :; }
cd "\${1%/*}" || exit 3
. "$1" >/dev/null </dev/null || exit 4
for v in pkgname pkgver pkgrel deps mkdeps rdeps bad ext subpkgs desc; do
  eval "val=\\\${$v-}"; print -r -- "$v=$(print -r -- "$val" | tr '\\n' ' ')"
done
for f in fetch build package license; do typeset -f $f >/dev/null 2>&1 && print -r -- "fn=$f"; done
exit 0`;

/**
 * Reads one recipe's metadata without running any of its phases. As root, the recipe is
 * sourced in its own network namespace, so top-level code in build.sh has no network.
 * @param file absolute path of `<category>/<pkg>/build.sh`
 * @param categories the tree's category names (to read `bad:gmake` style names)
 * @throws IgluError naming the file for a shell error, or a missing pkgname/pkgver
 */
export async function readRecipe(file: string, categories: ReadonlySet<string>, env = runnerEnv()): Promise<RecipeMeta> {
  // as root, in a new network namespace (unshare(1) -n): a recipe's top level reaches no network
  const argv = ['mksh', '-c', READER, 'iglu-read', file];
  const [cmd, ...args] = process.getuid?.() === 0 ? ['unshare', '--net', '--', ...argv] : argv;
  const res = await execa(cmd!, args, { env: { ...env, PATH: `${env.PATH ?? ''}:/usr/sbin:/usr/bin:/sbin:/bin` }, extendEnv: false, reject: false, stdin: 'ignore', timeout: 10_000 });
  if (res.exitCode === undefined) throw new IgluError(`cannot run mksh to read ${file}`, { hint: 'apt-get install mksh' });
  if (res.exitCode !== 0) {
    throw new IgluError(`${file}: the recipe does not source cleanly in mksh: ${String(res.stderr).trim().split('\n').slice(-2).join(' ') || `exit ${res.exitCode}`}`, { hint: 'fix the shell syntax (mksh -n build.sh shows it)' });
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
  for (const required of ['pkgname', 'pkgver']) {
    if (!vars.get(required)) throw new IgluError(`${file}: no ${required}`, { hint: `set ${required}= at the top of build.sh` });
  }
  const category = path.basename(path.dirname(path.dirname(file)));
  const list = (key: string) => splitDeps(vars.get(key) ?? '', categories);
  const bad = list('bad');
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
    provides: [...list('ext').map((e) => `${vars.get('pkgname')}-${e}`), ...list('subpkgs')],
    functions,
  };
}

/**
 * Reads every `<category>/<pkg>/build.sh` under `tree`, a few at a time.
 * @throws IgluError for the first recipe that cannot be read, or a tree without recipes
 */
export async function readTree(tree: string): Promise<RecipeMeta[]> {
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
  for (let i = 0; i < files.length; i += 8) out.push(...(await Promise.all(files.slice(i, i + 8).map((f) => readRecipe(f, names)))));
  return out;
}

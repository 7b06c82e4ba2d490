import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, IgluError } from '../errors.js';
import { readManifest, type PackageManifest } from '../packages/manifest.js';
import type { RecipeMeta } from '../recipes/read.js';

/** What a failed build's log says it could not find. */
export interface MissingInLog {
  /** Headers as the source includes them: `zlib.h`, `openssl/ssl.h`. */
  headers: string[];
  /** Libraries as the link names them: `z` for `-lz`. */
  libraries: string[];
}

/**
 * The headers and libraries a build log reports missing: clang's `fatal error: 'X' file
 * not found`, GCC's `X: No such file or directory` after `#include`, lld's `unable to
 * find library -lX` (ld.lld(1)), and a configure script's checks that came out "no"
 * (Autoconf's AC_CHECK_LIB `checking for F in -lX... no`, AC_CHECK_HEADER `checking for
 * X.h... no` and `checking X.h usability... no`): libedit's configure stops on a curses
 * library it does not declare. Each once, in the order met. Pure.
 */
export function missingInLog(log: string): MissingInLog {
  const headers = new Set<string>();
  const libraries = new Set<string>();
  for (const line of log.split('\n')) {
    const header = /fatal error: '([^']+)' file not found/.exec(line)?.[1] ?? /fatal error: ([\w./+-]+\.h(?:pp)?): No such file or directory/.exec(line)?.[1];
    const checked = /^checking (?:for )?([\w./+-]+\.h)(?: usability)?\.\.\. no$/.exec(line)?.[1];
    for (const h of [header, checked]) if (h) headers.add(h);
    const library = /unable to find library -l([\w.+-]+)/.exec(line)?.[1] ?? /^checking for \S+ in -l([\w.+-]+)\.\.\. no$/.exec(line)?.[1];
    if (library) libraries.add(library);
  }
  return { headers: [...headers], libraries: [...libraries] };
}

/** A missing header or library and the built package that has it. */
export interface UndeclaredProvider {
  /** `zlib.h`, or `-lz`. */
  missing: string;
  /** The package's name and version. */
  pkg: string;
  version: string;
}

/**
 * Which built packages hold what a log reports missing: a header at `usr/include/<h>`, a
 * library as `usr/lib/lib<l>.so` or `.a` (or under `lib/`). Packages the recipe declares
 * (deps, mkdeps) are left out: they were in its sysroot, so something else is wrong. Pure.
 * @param packages manifests of the packages built so far
 */
export function undeclaredProviders(
  missing: MissingInLog,
  packages: Pick<PackageManifest, 'name' | 'version' | 'files'>[],
  declared: string[],
): UndeclaredProvider[] {
  const wanted = new Map<string, string>();
  for (const h of missing.headers) wanted.set(`usr/include/${h}`, h);
  for (const l of missing.libraries) for (const dir of ['usr/lib', 'lib']) for (const ext of ['so', 'a']) wanted.set(`${dir}/lib${l}.${ext}`, `-l${l}`);
  const found = new Map<string, UndeclaredProvider>();
  for (const p of packages) {
    if (declared.includes(p.name)) continue;
    for (const f of p.files) {
      const what = wanted.get(f.path);
      if (what && !found.has(what)) found.set(what, { missing: what, pkg: p.name, version: p.version });
    }
  }
  return [...found.values()];
}

/** The hint's sentence for the providers: which package has what, and that the recipe does not declare it. Pure. */
export function undeclaredSentence(recipeFile: string, found: UndeclaredProvider[]): string {
  const names = [...new Set(found.map((f) => f.pkg))];
  const what = found.map((f) => `${f.missing} is in ${f.pkg} ${f.version}`).join(', ');
  return `${what}, which ${recipeFile} does not declare: add ${names.join(' ')} to its mkdeps (or deps), since a build's sysroot holds only what its recipe declares (or, leaving the recipe as it is, list them under chroot.mkdeps in iglu.yaml; or, for a tree of real recipes, set chroot.sysroot: planned, and each package sees all the plan builds before it)`;
}

/**
 * A failed build's error with, when its log reports a header or library missing that a
 * package in `outDir` provides and the recipe does not declare, that package named in the
 * hint (real recipes often lean on whatever was built before them). Anything else is
 * returned as it is.
 * @param outDir where the phase's packages and manifests are (out/)
 */
export async function withUndeclaredHint(err: unknown, recipe: RecipeMeta, logFile: string, outDir: string): Promise<unknown> {
  if (!(err instanceof IgluError) || err.exitCode !== ExitCode.failure) return err;
  const missing = missingInLog(await logEnd(logFile, 256 * 1024));
  if (!missing.headers.length && !missing.libraries.length) return err;
  const files = (await readdir(outDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
  const manifests = (await Promise.all(files.map((f) => readManifest(path.join(outDir, f))))).filter((m) => m?.files !== undefined);
  const found = undeclaredProviders(missing, manifests as PackageManifest[], [...recipe.deps, ...recipe.mkdeps]);
  if (!found.length) return err;
  const sentence = undeclaredSentence(recipe.file, found);
  return new IgluError(err.message, { hint: err.hint ? `${sentence}; ${err.hint}` : sentence, cause: err, exitCode: err.exitCode });
}

/** The last `bytes` of a log (a build's can be large; the error is near its end), or '' when it cannot be read. */
async function logEnd(file: string, bytes: number): Promise<string> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const { buffer } = await handle.read(Buffer.alloc(length), 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { readTree, type RecipeMeta } from '../recipes/read.js';
import type { RecipeCache } from '../recipes/read-cache.js';
import { untarAsSandbox } from '../sandbox/untar.js';
import { plainTar } from './bundle-stream.js';
import { checkUnpacked } from './unpacked-check.js';

/** The tree a task builds and the pkgnames its bundle brings. */
export interface TaskTree {
  dir: string;
  /** The bundle's recipes' pkgnames: what the task builds (and what they need). */
  packages: string[];
  /** Recipes of the branch that the bundle's replaced (same pkgname), as <category>/<pkg>. */
  replaced: string[];
}

/**
 * Lays a checked bundle's recipes over a branch's tree: unpacks the bundle as the
 * sandbox's uid (untarAsSandbox: GNU tar, no devices, nothing owned by root), checks
 * what tar made (checkUnpacked: types, links, size), reads its
 * recipes (each sourced in the reading sandbox), copies the branch's tree without the
 * recipe directories whose pkgname a bundle recipe has, and the bundle over it. A
 * recipe of the same pkgname thus replaces the branch's; files beside recipes (patches,
 * `../files`) come along. `cp -a` copies links as links, never following them, and the
 * tree it lays belongs to iglu's user, not the sandbox's uid (no set-id bits, nothing
 * writable by group or others), so no build can change the recipes it was given. All of
 * it — unpacking, reading, hashing, copying — stops when `signal` aborts (the task is
 * cancelled or past serve.timeout).
 * @param bundle a file that passed checkBundle
 * @throws IgluError when a recipe of the bundle does not read, naming it; the signal's reason once it aborts
 */
export async function layTaskTree(o: {
  bundle: string;
  unpacked: string;
  branchTree: string;
  out: string;
  /** serve.maxUnpackedMiB, bytes: what the unpacked files may hold (checkUnpacked). */
  maxBytes: number;
  cache?: RecipeCache;
  signal?: AbortSignal;
}): Promise<TaskTree> {
  const { signal } = o;
  await rm(o.unpacked, { recursive: true, force: true });
  await untarAsSandbox((await plainTar(o.bundle, signal ? { signal } : {})).stream, o.unpacked, { what: 'the bundle', ...(signal ? { signal } : {}) });
  await checkUnpacked(o.unpacked, o.maxBytes, signal);
  const quiet = () => undefined;
  const mine = await readTree(o.unpacked, quiet, o.cache, signal);
  const branch = await readTree(o.branchTree, quiet, o.cache, signal);
  const names = new Set(mine.flatMap((r) => [r.name, ...r.provides]));
  const mineDirs = new Set(mine.map((r) => recipeDir(o.unpacked, r)));
  const replaced = branch.filter((r) => names.has(r.name) || mineDirs.has(recipeDir(o.branchTree, r))).map((r) => recipeDir(o.branchTree, r));
  await rm(o.out, { recursive: true, force: true });
  await mkdir(path.dirname(o.out), { recursive: true });
  await copy(`${path.resolve(o.branchTree)}/.`, o.out, signal);
  for (const dir of replaced) await rm(path.join(o.out, dir), { recursive: true, force: true });
  await copy(`${o.unpacked}/.`, o.out, signal);
  await run(['chmod', '-R', 'ug-s,go-w', '--', o.out], o.out, signal);
  return { dir: o.out, packages: mine.map((r) => r.name).sort(), replaced: replaced.sort() };
}

/** `<category>/<pkg>` of a recipe under `root`. Pure. */
function recipeDir(root: string, r: Pick<RecipeMeta, 'file'>): string {
  return path.relative(path.resolve(root), path.dirname(r.file));
}

/** `cp -a` owned by the caller (as root: by root, whatever owned the source; cp then drops set-id bits). */
function copy(from: string, to: string, signal: AbortSignal | undefined): Promise<void> {
  return run(['cp', '-a', '--no-dereference', '--no-preserve=ownership', '--', from, to], to, signal);
}

/** Runs one command of the laying, killed when `signal` aborts. @throws IgluError with its stderr; the signal's reason once it aborts */
async function run(argv: string[], to: string, signal: AbortSignal | undefined): Promise<void> {
  const res = await execa(argv[0]!, argv.slice(1), { reject: false, ...(signal ? { cancelSignal: signal } : {}) });
  signal?.throwIfAborted();
  if (res.exitCode !== 0) throw new IgluError(`cannot lay out the task's tree: ${res.stderr}`, { hint: `check the space left under ${path.dirname(to)}` });
}

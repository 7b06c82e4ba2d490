import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { readTree, type RecipeMeta } from '../recipes/read.js';
import type { RecipeCache } from '../recipes/read-cache.js';
import { untarAsSandbox } from '../sandbox/untar.js';
import { plainTar } from './bundle-check.js';

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
 * sandbox's uid (untarAsSandbox: GNU tar, no devices, nothing owned by root), reads its
 * recipes (each sourced in the reading sandbox), copies the branch's tree without the
 * recipe directories whose pkgname a bundle recipe has, and the bundle over it. A
 * recipe of the same pkgname thus replaces the branch's; files beside recipes (patches,
 * `../files`) come along. `cp -a` copies links as links, never following them.
 * @param bundle a file that passed checkBundle
 * @throws IgluError when a recipe of the bundle does not read, naming it
 */
export async function layTaskTree(o: { bundle: string; unpacked: string; branchTree: string; out: string; cache?: RecipeCache }): Promise<TaskTree> {
  await rm(o.unpacked, { recursive: true, force: true });
  await untarAsSandbox(await plainTar(o.bundle), o.unpacked, { what: 'the bundle' });
  const quiet = () => undefined;
  const mine = await readTree(o.unpacked, quiet, o.cache);
  const branch = await readTree(o.branchTree, quiet, o.cache);
  const names = new Set(mine.flatMap((r) => [r.name, ...r.provides]));
  const mineDirs = new Set(mine.map((r) => recipeDir(o.unpacked, r)));
  const replaced = branch.filter((r) => names.has(r.name) || mineDirs.has(recipeDir(o.branchTree, r))).map((r) => recipeDir(o.branchTree, r));
  await rm(o.out, { recursive: true, force: true });
  await mkdir(path.dirname(o.out), { recursive: true });
  await copy(`${path.resolve(o.branchTree)}/.`, o.out);
  for (const dir of replaced) await rm(path.join(o.out, dir), { recursive: true, force: true });
  await copy(`${o.unpacked}/.`, o.out);
  return { dir: o.out, packages: mine.map((r) => r.name).sort(), replaced: replaced.sort() };
}

/** `<category>/<pkg>` of a recipe under `root`. Pure. */
function recipeDir(root: string, r: Pick<RecipeMeta, 'file'>): string {
  return path.relative(path.resolve(root), path.dirname(r.file));
}

async function copy(from: string, to: string): Promise<void> {
  const res = await execa('cp', ['-a', '--no-dereference', '--', from, to], { reject: false });
  if (res.exitCode !== 0) throw new IgluError(`cannot lay out the task's tree: ${res.stderr}`, { hint: `check the space left under ${path.dirname(to)}` });
}

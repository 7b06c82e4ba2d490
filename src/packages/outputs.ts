import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { checkBinaries } from './binaries.js';
import { IgluError } from '../errors.js';
import type { RecipeMeta } from '../recipes/read.js';
import { readRegularFile, noLinksBelow } from '../util/safe-fs.js';
import { manifestOf, type PackageManifest } from './manifest.js';
import { packPkgdir, writeManifest } from './pack.js';
import type { PackagePaths } from '../layout/package-paths.js';

/**
 * The packages one recipe's build makes, in this order: the main package (pkgname),
 * then `<pkgname>-<e>` for each `ext` entry and each `subpkgs` name other than pkgname
 * (RECIPES.md: llvm lists itself among its subpkgs; what no function claims stays in the
 * main package). RecipeMeta.provides already holds the ext and subpkgs names. Pure.
 */
export function outputNames(recipe: Pick<RecipeMeta, 'name' | 'provides'>): string[] {
  return [recipe.name, ...recipe.provides.filter((n) => n !== recipe.name)];
}

/** iglupkg's metadata file `usr/share/iglupkg/<name>`, read into its sections. */
export interface IglupkgMeta {
  /** `[pkg]` key=value lines (name, ver, rel, deps, shlibs). */
  pkg: Record<string, string>;
  /** `[license]`: the text license() printed. */
  license: string;
  /** `[backup]`: configuration files to keep. */
  backup: string[];
  /** `[fs]`: the files. */
  fs: string[];
}

/** Parses iglupkg's metadata text (sections `[pkg]`, `[license]`, `[backup]`, `[fs]`). Pure. */
export function parseIglupkgMeta(text: string): IglupkgMeta {
  const out: IglupkgMeta = { pkg: {}, license: '', backup: [], fs: [] };
  let section = '';
  const license: string[] = [];
  for (const line of text.split('\n')) {
    const head = /^\[(pkg|license|backup|fs)\]$/.exec(line);
    if (head) {
      section = head[1]!;
      continue;
    }
    if (section === 'pkg') {
      const eq = line.indexOf('=');
      if (eq > 0) out.pkg[line.slice(0, eq)] = line.slice(eq + 1);
    } else if (section === 'license') license.push(line);
    else if (section === 'backup' && line.trim()) out.backup.push(line.trim());
    else if (section === 'fs' && line.trim()) out.fs.push(line.trim());
  }
  out.license = license.join('\n').trim();
  return out;
}

/** The SPDX id a license text names (`SPDX-License-Identifier: MIT`), if it names one. Pure. */
export function spdxOf(text: string): string | undefined {
  return /SPDX-License-Identifier:\s*([A-Za-z0-9.+()\- ]+?)\s*(\*\/)?$/m.exec(text)?.[1];
}

/** How the outputs of one build are packed. */
export interface PackOptions {
  paths: PackagePaths;
  /** The host directory holding `<name>.<pkgver>` for every output (the recipe's out/). */
  outRoot: string;
  /**
   * A directory iglu made (the package's workspace) that holds outRoot: every component
   * from it down to each pkgdir is checked to be no symbolic link (a recipe may replace
   * its own out/ with a link to any host directory).
   */
  within: string;
  recipeSha256: string;
  sources: PackageManifest['sources'];
  build: PackageManifest['build'];
  /** The inputs hash (chroot phase). */
  inputs?: string;
  /** Check every ELF file is musl's (chroot phase). */
  checkElf: boolean;
  /** SOURCE_DATE_EPOCH, seconds. */
  epoch: number;
}

/**
 * Packs every output of a recipe's build (outputNames): each pkgdir `<outRoot>/<name>.<pkgver>`,
 * reached through no symbolic link, becomes `out/<name>.<pkgver>.tar.zst` with its own
 * manifest: the deps and shlibs its metadata gives (a subpkgs function may set them),
 * the license text's sha256 and SPDX id, and `subpackageOf` for a subpackage.
 * @returns the manifests, the main package first
 * @throws IgluError when an output is missing or is a link, for an ELF file not linked
 *   against musl (checkElf), or when packing fails (nothing half-written kept)
 */
export async function packOutputs(recipe: RecipeMeta, o: PackOptions): Promise<PackageManifest[]> {
  const manifests: PackageManifest[] = [];
  for (const name of outputNames(recipe)) {
    const pkgdir = await outputDir(o.within, path.join(o.outRoot, `${name}.${recipe.pkgver}`));
    const metaText = await noLinksBelow(pkgdir, path.join('usr/share/iglupkg', name))
      .then(readRegularFile)
      .catch(() => '');
    const meta = parseIglupkgMeta(metaText);
    const binaries = o.checkElf ? await checkBinaries(name, pkgdir) : undefined;
    const tarball = o.paths.tarball(name, recipe.pkgver);
    const packed = await packPkgdir(pkgdir, tarball, o.epoch);
    const words = (v: string | undefined) => (v ?? '').split(/[\s:]+/).filter(Boolean);
    const manifest: PackageManifest = {
      ...manifestOf({ ...recipe, name }, o.recipeSha256, o.sources, tarball, packed, o.build),
      ...(o.inputs ? { inputs: o.inputs } : {}),
      ...(binaries ? { binaries } : {}),
      deps: name === recipe.name ? [...new Set([...recipe.deps, ...words(meta.pkg.deps)])] : words(meta.pkg.deps),
      shlibs: name === recipe.name ? [...new Set([...recipe.shlibs, ...words(meta.pkg.shlibs)])] : words(meta.pkg.shlibs),
      backup: meta.backup,
      ...(meta.license
        ? { license: { sha256: createHash('sha256').update(meta.license).digest('hex'), ...(spdxOf(meta.license) ? { spdx: spdxOf(meta.license) } : {}) } }
        : {}),
      ...(name === recipe.name ? { subpackages: outputNames(recipe).slice(1) } : { subpackageOf: recipe.name }),
    };
    await writeManifest(o.paths.manifest(name, recipe.pkgver), manifest);
    manifests.push(manifest);
  }
  return manifests;
}

/**
 * `pkgdir`, checked to be a real directory reached from `within` through no symbolic link
 * (out/ itself included).
 * @throws IgluError naming the package directory and the link or what is missing
 */
export async function outputDir(within: string, pkgdir: string): Promise<string> {
  const rel = path.relative(within, pkgdir);
  const shown = rel.split(path.sep).slice(-2).join('/');
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new IgluError(`${pkgdir} is not inside ${within}`, { hint: 'this is a bug in iglu' });
  try {
    const dir = await noLinksBelow(within, rel);
    if (!(await lstat(dir)).isDirectory()) throw new Error(`${dir} is not a directory`);
    return dir;
  } catch (err) {
    throw new IgluError(`the package directory ${shown} is missing or is reached through a symbolic link: ${(err as Error).message}`, {
      hint: "package() (or the subpackage's function) must install into a plain directory, $pkgdir, and leave out/ a directory",
      cause: err,
    });
  }
}

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LockedSource } from '../sources/lock-file.js';

/** One file in a package tarball. */
export interface ManifestFile {
  path: string;
  /** Bytes (0 for directories and links). */
  size: number;
  /** "file", "directory", "symlink", "link" (hard link), or another tar entry type. */
  type: string;
  mode: number;
}

/** Compile jobs of one build: where they ran (see farm/distcc-log.ts); remote + local + bypassed is every compile. */
export interface CompileCounts {
  /** Jobs per farm host (a distccd task), keyed by its overlay address. */
  remote: Record<string, number>;
  /** The same jobs per swarm node, keyed by the node's hostname. */
  byNode: Record<string, number>;
  /** Compiles that ran locally (distcc fell back, or did not distribute them). */
  local: number;
  /** Of those, how many fell back after a failed remote try. */
  fellBack: number;
  /** Compiles that never reached distcc (the compiler wrapper ran without it); absent in manifests before iglu counted them. */
  bypassed?: number;
}

/** out/<pkgname>.<pkgver>.json: what a package is and what it was built from. */
export interface PackageManifest {
  name: string;
  version: string;
  release: string;
  recipe: { file: string; sha256: string };
  sources: ({ url: string } & LockedSource)[];
  tarball: { file: string; sha256: string; size: number };
  files: ManifestFile[];
  /** Sum of file sizes, bytes. */
  installedSize: number;
  build: {
    at: string;
    seconds: number;
    where: 'farm' | 'host' | 'chroot';
    compiles?: CompileCounts;
    /** --spread: the swarm node whose job built it. */
    node?: string;
    /** --spread: what the job's container used (cgroup figures, spread/job-spec.ts). */
    usage?: { cpuSeconds: number; wallSeconds: number; peakMemoryBytes: number; diskBytes: number };
  };
  /** Chroot phase: the inputs hash (packages/inputs.ts) this package was built from. */
  inputs?: string;
  /** Chroot phase: the ELF programs and libraries it ships, as elf.ts reads them. */
  binaries?: { path: string; static: boolean; libc: string; interpreter?: string; needed?: string[]; soname?: string; shared?: boolean }[];
  /** Runtime dependencies (the recipe's deps; a subpackage's as its function set them). */
  deps?: string[];
  /** Shared libraries it provides (`shlibs`). */
  shlibs?: string[];
  /** Configuration files to keep on upgrade (backup()). */
  backup?: string[];
  /** The license text license() printed: its sha256, and the SPDX id when it names one. */
  license?: { sha256: string; spdx?: string };
  /** Main package: the subpackages the same build made (ext, subpkgs). */
  subpackages?: string[];
  /** Subpackage: the pkgname of the recipe that made it. */
  subpackageOf?: string;
}

/** Reads a manifest, or undefined when there is none or it cannot be parsed. */
export async function readManifest(file: string): Promise<PackageManifest | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as PackageManifest;
  } catch {
    return undefined;
  }
}

/**
 * Whether an existing package is still what these inputs would build: same recipe hash,
 * and every source it was built from still pinned to the same content. Pure.
 * @param pins the source cache's lock (URL → content)
 */
export function upToDate(m: PackageManifest | undefined, recipeSha256: string, pins: Record<string, LockedSource>): boolean {
  if (!m || m.recipe.sha256 !== recipeSha256) return false;
  return m.sources.every((s) => pins[s.url]?.sha256 === s.sha256);
}

/**
 * The newest manifest `outDir/<name>.*.json` (by build time) for pkgname `name`,
 * optionally only one built by `where` ("farm": the toolchain phase, "chroot").
 */
export async function newestManifest(outDir: string, name: string, where?: PackageManifest['build']['where']): Promise<PackageManifest | undefined> {
  const files = (await readdir(outDir).catch(() => [] as string[])).filter((f) => f.startsWith(`${name}.`) && f.endsWith('.json'));
  const all = await Promise.all(files.map((f) => readManifest(path.join(outDir, f))));
  return all
    .filter((m): m is PackageManifest => m?.name === name && (!where || m.build.where === where))
    .sort((a, b) => b.build.at.localeCompare(a.build.at))[0];
}

/**
 * A manifest for a package just packed: name, version and release from the recipe, its
 * recipe hash, the sources it was fetched from, the tarball (file name, sha256, size), its
 * files and installed size, and how the build went. Pure.
 * @param recipe pkgname, pkgver, pkgrel and the build.sh path
 * @param tarball the tarball's path (its base name is recorded)
 */
export function manifestOf(
  recipe: { name: string; pkgver: string; pkgrel: string; file: string },
  recipeSha256: string,
  sources: PackageManifest['sources'],
  tarball: string,
  packed: { sha256: string; size: number; files: ManifestFile[] },
  build: PackageManifest['build'],
): PackageManifest {
  return {
    name: recipe.name,
    version: recipe.pkgver,
    release: recipe.pkgrel,
    recipe: { file: recipe.file, sha256: recipeSha256 },
    sources,
    tarball: { file: path.basename(tarball), sha256: packed.sha256, size: packed.size },
    files: packed.files,
    installedSize: packed.files.reduce((n, f) => n + f.size, 0),
    build,
  };
}

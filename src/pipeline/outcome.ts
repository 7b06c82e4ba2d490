import { IgluError } from '../errors.js';
import { SYSROOT } from '../layout/in-root.js';
import { formatCounts } from '../farm/distcc-log.js';
import { refusedSuffix, type RefusedTask } from '../farm/verify.js';
import type { CompileCounts, PackageManifest } from '../packages/manifest.js';
import type { RecipeMeta } from '../recipes/read.js';
import type { JobUsage } from '../spread/job-spec.js';

/** What became of one package in a phase's build (`iglu chroot build --json`'s packages). */
export interface PackageOutcome {
  name: string;
  version: string;
  /**
   * failed: its build failed (see log); blocked: a package it needs failed or was blocked
   * (--keep-going, or any failure of a spread build); installed: up to date, and installed
   * into the build root's /sysroot now; from store: the farm's package store had a build
   * of the same inputs (--spread); attached: another run was building the same inputs on
   * the farm, and this one followed its log and took its result.
   */
  action: 'built' | 'up to date' | 'installed' | 'from store' | 'attached' | 'failed' | 'blocked';
  /** failed: the error and, when iglu has one, what to do (an undeclared dependency named); blocked: which packages it waited for. */
  error?: string;
  hint?: string;
  blockedBy?: string[];
  tarball: string;
  log: string;
  /** Wall time of the build, seconds (0 unless built). */
  seconds: number;
  binaries: NonNullable<PackageManifest['binaries']>;
  compiles: CompileCounts | null;
  /** The subpackages the build made (ext, subpkgs), each its own tarball. */
  subpackages: string[];
  /** A swarm job: the node it ran on, when the job's task ran (ISO times), tries, and what it used. */
  node?: string;
  startedAt?: string;
  endedAt?: string;
  attempts?: number;
  usage?: JobUsage;
}

/** A PackageOutcome for `recipe` with nothing built yet, then `fields`. Pure. */
export function packageEntry(recipe: RecipeMeta, fields: Partial<PackageOutcome> & Pick<PackageOutcome, 'action'>): PackageOutcome {
  return {
    name: recipe.name,
    version: `${recipe.pkgver}-${recipe.pkgrel}`,
    tarball: '',
    log: '',
    seconds: 0,
    binaries: [],
    compiles: null,
    subpackages: [],
    ...fields,
  };
}

/** The outcome's fields that a build's manifests give: ELF files and subpackages. Pure. */
export function fromManifests(manifests: PackageManifest[]): Pick<PackageOutcome, 'binaries' | 'subpackages'> {
  return { binaries: manifests.flatMap((m) => m.binaries ?? []), subpackages: manifests.slice(1).map((m) => m.name) };
}

/**
 * The error a keep-going build ends with when packages failed: how many, which, how many
 * were blocked, and as the hint each failed package's own hint (a dependency its recipe
 * does not declare) and the failed packages' logs; undefined when none failed. Pure.
 */
export function keepGoingFailure(packages: PackageOutcome[]): IgluError | undefined {
  const failed = packages.filter((p) => p.action === 'failed');
  if (!failed.length) return undefined;
  const blocked = packages.filter((p) => p.action === 'blocked');
  const names = (list: PackageOutcome[]) => list.map((p) => p.name).join(', ');
  return new IgluError(
    `${failed.length} package${failed.length === 1 ? '' : 's'} failed (${names(failed)})${blocked.length ? `; ${blocked.length} blocked (${names(blocked)})` : ''}`,
    { hint: [...failed.filter((p) => p.hint).map((p) => `${p.name}: ${p.hint}`), `the logs: ${failed.map((p) => p.log).join(' ')}`].join('\n') },
  );
}

/**
 * One phrase for a build's ELF files: how many are dynamic programs (with their loader),
 * shared libraries, static, e.g. "ELF: 1 dynamic (/lib/ld-musl-x86_64.so.1; needs libc.so),
 * 0 static". Pure.
 */
export function elfSummary(binaries: { static: boolean; interpreter?: string; needed?: string[]; soname?: string; shared?: boolean }[]): string {
  const dynamic = binaries.filter((b) => b.interpreter);
  const libraries = binaries.filter((b) => !b.interpreter && (b.soname || b.shared));
  const statics = binaries.filter((b) => b.static && !b.soname && !b.shared);
  const loaders = [...new Set(dynamic.map((b) => b.interpreter!))];
  const needed = [...new Set(binaries.flatMap((b) => b.needed ?? []))].sort();
  const parts = [`${dynamic.length} dynamic${loaders.length ? ` (${loaders.join(', ')})` : ''}`];
  if (libraries.length) parts.push(`${libraries.length} shared ${libraries.length === 1 ? 'library' : 'libraries'}`);
  parts.push(`${statics.length} static`);
  return `ELF: ${parts.join(', ')}${needed.length ? `; needs ${needed.join(' ')}` : ''}`;
}

/**
 * The line a package's step ends with, e.g. "built in 6.1 s; ELF: …; compiles: …" or
 * "from the farm's package store (built … on node-2; log: …)". Pure.
 * @param how the build's runner: its node names and refused tasks (a built package's line)
 * @param detail for a package taken from elsewhere: where it was built
 */
export function outcomeLine(p: PackageOutcome, how: { nodeOf?: (ip: string) => string | undefined; refused?: RefusedTask[] }, detail = ''): string {
  switch (p.action) {
    case 'built': {
      const parts = [`built in ${p.seconds} s${p.node ? ` on ${p.node}` : ''}`];
      if (p.subpackages.length) parts.push(`subpackages ${p.subpackages.join(' ')}`);
      if (p.binaries.length) parts.push(elfSummary(p.binaries));
      if (p.compiles) parts.push(`compiles: ${formatCounts(p.compiles, how.nodeOf ?? (() => undefined))}`);
      return `${parts.join('; ')}${refusedSuffix(how.refused)}`;
    }
    case 'installed':
      return `up to date; installed into ${SYSROOT}`;
    case 'from store':
      return `from the farm's package store${detail}`;
    case 'attached':
      return `built by another run${p.node ? ` on ${p.node}` : ''}; taken from the farm's package store (log: ${p.log})`;
    default:
      return p.action;
  }
}

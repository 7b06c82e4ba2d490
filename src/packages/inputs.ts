import { createHash } from 'node:crypto';

/** Everything a chroot-built package is made from. */
export interface PackageInputs {
  /** sha256 of the recipe directory (recipe-hash.ts). */
  recipe: string;
  /** Source URL → sha256 of the content it was built from. */
  sources: Record<string, string>;
  /** The build root's base: image ID or base tarball sha256. */
  base: string;
  /** Dependency pkgname → that package's identity (its own inputs hash, or its tarball's). */
  deps: Record<string, string>;
}

/**
 * The identity of a package build: sha256 over its recipe, sources, base and the
 * identities of its dependencies, in a canonical (sorted) JSON form. Because a
 * dependency's identity is in turn its own inputs hash, changing one recipe changes the
 * identity of everything that depends on it, directly or not — a Merkle chain. Pure.
 */
export function inputsHash(i: PackageInputs): string {
  const sorted = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
  const canonical = JSON.stringify({ recipe: i.recipe, sources: sorted(i.sources), base: i.base, deps: sorted(i.deps) });
  return createHash('sha256').update(canonical).digest('hex');
}

/** The identity of a package from the toolchain phase, which dependents record. Pure. */
export function toolchainIdentity(tarballSha256: string): string {
  return `toolchain:${tarballSha256}`;
}

/**
 * What a package's inputs are before its sources are known: sha256 over its recipe, base
 * and dependencies' identities (canonical JSON). The package store maps it to the sources
 * a build used (PackageStore.resolved), so a manager that has not fetched them can still
 * work out the inputs hash. Pure.
 */
export function resolutionKey(i: Omit<PackageInputs, 'sources'>): string {
  const deps = Object.fromEntries(Object.entries(i.deps).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256')
    .update(JSON.stringify({ recipe: i.recipe, base: i.base, deps }))
    .digest('hex');
}

/**
 * The sources recorded for a recipe, when this machine's pins agree: every URL this
 * machine's source cache pins (`pins`) is pinned to the same content; URLs it does not
 * pin are taken as recorded (content-addressed, so the inputs hash says what they are).
 * @returns the sources, or undefined when a pin differs (the recipe must be fetched). Pure.
 */
export function agreedSources(recorded: Record<string, string>, pins: Record<string, { sha256: string }>): Record<string, string> | undefined {
  return Object.entries(recorded).every(([url, sha]) => !pins[url] || pins[url].sha256 === sha) ? recorded : undefined;
}

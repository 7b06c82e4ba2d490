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

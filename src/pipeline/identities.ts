import type { RecipeMeta } from '../recipes/read.js';

/**
 * What a phase knows of its packages' identities (each one's inputs hash, or for a
 * package from elsewhere what stands for it) and which recipe provides a name: the deps
 * part of every package's inputs (packages/inputs.ts: a Merkle chain over the tree).
 */
export class Identities {
  private readonly provider = new Map<string, string>();
  private readonly known = new Map<string, string>();

  /**
   * @param recipes the phase's recipes (a recipe's `provides` name it too)
   * @param provided names that are not the phase's packages (chroot.base, the toolchain
   *   phase's packages): their identity is "base:<name>" unless `seed` gives one
   */
  constructor(
    recipes: RecipeMeta[],
    private readonly provided: readonly string[],
  ) {
    for (const r of recipes) for (const n of [r.name, ...r.provides]) if (!this.provider.has(n) || n === r.name) this.provider.set(n, r.name);
  }

  /** Records identities learnt elsewhere (the build root's installed packages), keeping those already known. */
  seed(entries: Iterable<[string, string]>): void {
    for (const [name, id] of entries) if (!this.known.has(name)) this.known.set(name, id);
  }

  /** Records a package's identity once it is built or taken, for its dependents. */
  set(name: string, identity: string): void {
    this.known.set(name, identity);
  }

  /** The recipe that provides `name`, or undefined. */
  providerOf(name: string): string | undefined {
    return this.provider.get(name);
  }

  /** Whether a build's sysroot gets `name` as a package: no for provided names and those no recipe provides (the build environment's tools). */
  isPackage(name: string): boolean {
    return !this.provided.includes(name) && this.provider.has(name);
  }

  /** The recipes a recipe waits for: its deps and mkdeps by provider, itself left out. */
  needs(recipe: RecipeMeta): string[] {
    return [...new Set([...recipe.deps, ...recipe.mkdeps].map((d) => this.provider.get(d) ?? d))].filter((d) => d !== recipe.name);
  }

  /** The names a recipe's sysroot is asked to hold: its deps and mkdeps, those it provides itself left out. */
  sysrootNeeds(recipe: RecipeMeta): string[] {
    return [...new Set([...recipe.deps, ...recipe.mkdeps])].filter((d) => d !== recipe.name && this.provider.get(d) !== recipe.name);
  }

  /**
   * Dependency name → identity, for a recipe's inputs: a phase package's own identity, a
   * provided name's "base:<name>", anything else "build-env:<name>".
   */
  deps(recipe: RecipeMeta): Record<string, string> {
    const deps: Record<string, string> = {};
    for (const dep of new Set([...recipe.deps, ...recipe.mkdeps])) {
      const p = this.provider.get(dep) ?? dep;
      if (p === recipe.name) continue;
      deps[dep] = this.known.get(p) ?? (this.provided.includes(dep) ? `base:${dep}` : `build-env:${dep}`);
    }
    return deps;
  }
}

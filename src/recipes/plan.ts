import { IgluError } from '../errors.js';

/** A recipe's metadata as the planner needs it. */
export interface RecipeDeps {
  /** pkgname */
  name: string;
  /** `<category>/<pkg>/build.sh`, for messages */
  file: string;
  /** runtime dependencies, names without category */
  deps: string[];
  /** build-time dependencies (mkdeps and bad), names without category */
  mkdeps: string[];
  /** subpackage names this recipe also provides (ext / subpkgs) */
  provides: string[];
  /** GNU tools it needs through the `bad` wrapper (also in mkdeps) */
  bad?: string[];
}

/** The result of planning: what to build, in which order. */
export interface Plan {
  /** Recipes to build, dependencies first. */
  order: string[];
  /** The packages asked for. */
  selected: string[];
  /** Recipes pulled in by the selected ones. */
  pulledIn: string[];
  /** Names satisfied by the base sysroot instead of a recipe. */
  fromBase: string[];
  /**
   * `bad` GNU tools that no recipe provides: the build environment's own stand in, as
   * iglupkg stubs `bad` and `gmake` when they are absent.
   */
  gnuFromBuildEnv: string[];
}

/**
 * Splits an Iglunix dependency list: names separated by `:` or white space, each optionally
 * `category:name` (`bad:gmake`), which RECIPES.md says to treat both ways. Because `:` is
 * also the separator, a category is recognised only when it is a known category. Pure.
 */
export function splitDeps(value: string, categories: ReadonlySet<string>): string[] {
  const words = value.split(/[\s:]+/).filter(Boolean);
  return words.filter((w, i) => !(categories.has(w) && i + 1 < words.length));
}

/**
 * A build order over recipes: a topological order of deps + mkdeps (dependencies first),
 * stable for equal inputs (ties broken by name). Names in `base` are provided by the base
 * sysroot: they satisfy dependencies and are not built (unless selected), which breaks
 * the cycles real trees have (musl ↔ gmake, llvm ↔ cmake). A `bad` GNU tool that no
 * recipe provides is taken from the build environment. Pure.
 * @param selected pkgnames to build; empty means every recipe
 * @throws IgluError naming an unknown selected package, a dependency no recipe provides
 *   (with the recipe asking for it), or the packages on a remaining cycle
 */
export function planBuild(recipes: RecipeDeps[], selected: string[], base: string[]): Plan {
  const provider = new Map<string, RecipeDeps>();
  for (const r of [...recipes].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const name of [r.name, ...r.provides]) if (!provider.has(name) || name === r.name) provider.set(name, r);
  }
  const baseSet = new Set(base);
  for (const name of selected) {
    if (!provider.has(name)) throw new IgluError(`no recipe provides "${name}"`, { hint: 'see the tree with "iglu chroot plan --json", or check --tree' });
  }
  const roots = (selected.length ? selected : recipes.map((r) => r.name)).map((n) => provider.get(n)!.name);
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const fromBase = new Set<string>();
  const gnu = new Set<string>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      throw new IgluError(`dependency cycle: ${cycle.join(' → ')}`, { hint: 'list one of these packages under the base sysroot (chroot.base in iglu.yaml) to break it, as Iglunix bootstraps it' });
    }
    const r = provider.get(name)!;
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of [...new Set([...r.deps, ...r.mkdeps])].sort()) {
      if (baseSet.has(dep)) {
        fromBase.add(dep);
        continue;
      }
      const p = provider.get(dep);
      if (!p && r.bad?.includes(dep)) {
        gnu.add(dep);
        continue;
      }
      if (!p) throw new IgluError(`${r.file}: depends on "${dep}", which no recipe provides`, { hint: `add a recipe for ${dep}, or list it under the base sysroot if the base already has it` });
      if (p.name !== name) visit(p.name);
    }
    stack.pop();
    state.set(name, 'done');
    order.push(name);
  };
  // an explicitly selected package is built even when the base provides it
  for (const root of [...new Set(roots)].sort()) if (selected.length || !baseSet.has(root)) visit(root);
  const selectedSet = new Set(roots);
  return { order, selected: [...selectedSet], pulledIn: order.filter((n) => !selectedSet.has(n)), fromBase: [...fromBase].sort(), gnuFromBuildEnv: [...gnu].sort() };
}

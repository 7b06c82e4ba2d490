import { IgluError } from '../errors.js';
import { providers, type RecipeDeps } from './plan.js';

/**
 * The recipes with, for each one named in `sequence`, the names before it in `sequence`
 * added to its mkdeps: its build's sysroot then holds them, they are built first, and
 * their identities join its inputs (a change to one rebuilds it). Recipes outside the
 * sequence, and those with nothing to add, are returned as they are. Pure.
 *
 * Two sequences use it. config.toolchain.packages: a toolchain package's sysroot holds the
 * toolchain packages before it whether its recipe declares them or not (Iglunix's musl
 * declares no compiler-rt, yet its libc.so links against compiler-rt's builtins). And a
 * chroot build's plan order with chroot.sysroot "planned": every package sees all that
 * the plan builds before it, as iglunix-autobuild's builds saw everything extracted into /
 * before them, so real recipes that under-declare their dependencies (mandoc includes
 * zlib.h without naming zlib) build unmodified, and reproducibly: the sysroot is fixed by
 * the plan, not by what happens to be in out/.
 * @param sequence names in build order
 */
export function afterEarlier<R extends RecipeDeps>(recipes: R[], sequence: string[]): R[] {
  return recipes.map((r) => {
    const i = sequence.indexOf(r.name);
    const before = sequence.slice(0, Math.max(0, i)).filter((n) => !r.provides.includes(n) && !r.mkdeps.includes(n));
    return before.length ? { ...r, mkdeps: [...r.mkdeps, ...before] } : r;
  });
}

/**
 * The recipes with `extra`'s names (config.chroot.mkdeps: pkgname → names) added to the
 * mkdeps of the recipe each key names, as if the recipe declared them; the others as they
 * are. Pure.
 * @throws IgluError naming the key (`chroot.mkdeps.<key>` in `configFile`) when no recipe
 *   has that pkgname
 */
export function withMkdeps<R extends RecipeDeps>(recipes: R[], extra: Readonly<Record<string, string[]>>, configFile = 'iglu.yaml'): R[] {
  const names = new Set(recipes.map((r) => r.name));
  const unknown = Object.keys(extra).filter((k) => !names.has(k));
  if (unknown.length) {
    throw new IgluError(`${configFile}: chroot.mkdeps.${unknown[0]}: no recipe of the tree has pkgname "${unknown[0]}"`, {
      hint: 'each key of chroot.mkdeps is a pkgname of the tree, each value the names its build needs besides what its recipe declares',
    });
  }
  return recipes.map((r) => {
    const add = (extra[r.name] ?? []).filter((n) => !r.mkdeps.includes(n));
    return add.length ? { ...r, mkdeps: [...r.mkdeps, ...add] } : r;
  });
}

/**
 * The run's plan order for chroot.sysroot "planned": the declared dependencies still come
 * first, and among the packages ready at each point, the one the most planned packages
 * need (directly or not) goes first, then by name. A library many recipes declare is thus
 * built early, where the recipes that use it without declaring it see it, as
 * iglunix-autobuild's stages built zlib and expat before the programs using them. Pure.
 * @param order a plan order (planBuild: every package after its dependencies)
 * @returns the same packages in the order the planned sysroots follow
 */
export function dependedOnFirst(recipes: RecipeDeps[], order: string[]): string[] {
  const provider = providers(recipes);
  const inPlan = new Set(order);
  const needs = new Map(
    order.map((n) => {
      const r = provider.get(n);
      const names = r ? [...r.deps, ...r.mkdeps].map((d) => provider.get(d)?.name ?? d) : [];
      return [n, [...new Set(names)].filter((d) => d !== n && inPlan.has(d))];
    }),
  );
  const weight = new Map(order.map((n) => [n, 0]));
  for (const n of order) for (const d of ancestors(n, needs)) weight.set(d, weight.get(d)! + 1);
  const placed = new Set<string>();
  const result: string[] = [];
  while (result.length < order.length) {
    const ready = order.filter((n) => !placed.has(n) && needs.get(n)!.every((d) => placed.has(d)));
    ready.sort((a, b) => weight.get(b)! - weight.get(a)! || a.localeCompare(b));
    placed.add(ready[0]!);
    result.push(ready[0]!);
  }
  return result;
}

/** Every package `name` needs, directly or through others. */
function ancestors(name: string, needs: Map<string, string[]>): Set<string> {
  const seen = new Set<string>();
  const stack = [...needs.get(name)!];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...needs.get(n)!);
  }
  return seen;
}

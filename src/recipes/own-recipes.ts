import type { RecipeDeps } from './plan.js';

/**
 * The user's tree with iglu's own recipes filling in what the toolchain needs and the
 * tree lacks: for each name in `wanted` (config.toolchain.packages) and, in turn, the deps
 * and mkdeps of every recipe of iglu's added so, iglu's recipe comes in when no recipe of
 * the user's tree has that pkgname or subpackage name. In Iglunix, musl's headers,
 * compiler-rt and libc++ come from its llvm recipe, which the base (chroot.base: [llvm])
 * stands in for: what the base stands in for comes from iglu, whatever tree is given. A
 * recipe of the user's tree always wins over iglu's. Pure.
 * @param user the user's tree (readTree)
 * @param own iglu's own tree (DEFAULT_TREE)
 * @returns the user's recipes, then iglu's added ones in the order they were needed
 */
export function withOwnRecipes<R extends RecipeDeps>(user: R[], own: R[], wanted: string[]): R[] {
  const has = new Set(user.flatMap((r) => [r.name, ...r.provides]));
  const ownByName = new Map<string, R>();
  for (const r of own) for (const n of [r.name, ...r.provides]) if (!ownByName.has(n) || n === r.name) ownByName.set(n, r);
  const added: R[] = [];
  const queue = [...wanted];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const r = ownByName.get(name);
    if (has.has(name) || !r || added.includes(r)) continue;
    added.push(r);
    for (const n of [r.name, ...r.provides]) has.add(n);
    queue.push(...r.deps, ...r.mkdeps);
  }
  return [...user, ...added];
}

/**
 * The packages a toolchain build plans for the names given: each named toolchain package
 * (config.toolchain.packages) comes after the toolchain packages before it, which its
 * build's sysroot holds whether its recipe declares them or not (Iglunix's musl declares
 * no compiler-rt, yet its libc.so links against compiler-rt's builtins). So naming musl
 * alone builds, or finds up to date, musl's headers and compiler-rt first. Names outside
 * the toolchain's list stay as given. Pure.
 * @param named the packages on the command line (none: the whole toolchain list)
 * @param toolchain config.toolchain.packages, in build order
 * @returns the names to plan, each once, toolchain ones in the toolchain's order first
 */
export function toolchainRoots(named: string[], toolchain: string[]): string[] {
  if (named.length === 0) return [...toolchain];
  const last = Math.max(-1, ...named.map((n) => toolchain.indexOf(n)));
  return [...new Set([...toolchain.slice(0, last + 1), ...named])];
}

import { providers, type RecipeDeps } from './plan.js';

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
  const ownByName = providers(own);
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

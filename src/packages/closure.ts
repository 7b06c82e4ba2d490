/** Packages and what they need at run time, in install order. */
export interface DepsClosure {
  /** Package names in install order: the listed ones as listed, then each dependency after the first package needing it. */
  order: string[];
  /** Dependencies no built package provides, with the packages needing them. */
  missing: { name: string; neededBy: string[] }[];
}

/**
 * The run-time closure of some packages — an image's (disk.packages), a build's sysroot
 * (its deps and mkdeps): `listed` and, breadth first, every name in their manifests'
 * `deps`, a subpackage name (libcxx, mksh-doc) being a package of its own. `depsOf(name)`
 * gives a built package's deps, undefined when it has not been built. Pure.
 */
export function depsClosure(listed: string[], depsOf: (name: string) => string[] | undefined): DepsClosure {
  const order: string[] = [];
  const missing = new Map<string, string[]>();
  const queue: { name: string; neededBy?: string }[] = listed.map((name) => ({ name }));
  const seen = new Set<string>();
  while (queue.length) {
    const { name, neededBy } = queue.shift()!;
    const deps = depsOf(name);
    if (deps === undefined) {
      if (neededBy) missing.set(name, [...(missing.get(name) ?? []), neededBy]);
      else missing.set(name, missing.get(name) ?? []);
      continue;
    }
    if (seen.has(name)) continue;
    seen.add(name);
    order.push(name);
    for (const d of deps) if (!seen.has(d)) queue.push({ name: d, neededBy: name });
  }
  return { order, missing: [...missing].map(([name, by]) => ({ name, neededBy: [...new Set(by)] })) };
}

/**
 * depsClosure over manifests read on demand: `load(name)` gives a built package's
 * manifest (undefined when it has not been built); names `skip` answers true for (the
 * base's, the toolchain's) are left out of the walk.
 * @returns the closure and the manifests read, by name
 */
export async function manifestClosure<M extends { deps?: string[] }>(
  listed: string[],
  load: (name: string) => Promise<M | undefined>,
  skip: (name: string) => boolean = () => false,
): Promise<{ closure: DepsClosure; manifests: Map<string, M> }> {
  const manifests = new Map<string, M>();
  const read = new Set<string>();
  for (let pending = listed.filter((n) => !skip(n)); pending.length;) {
    const next: string[] = [];
    for (const name of pending) {
      if (read.has(name)) continue;
      read.add(name);
      const m = await load(name);
      if (m) manifests.set(name, m);
      next.push(...(m?.deps ?? []).filter((d) => !skip(d)));
    }
    pending = next;
  }
  const closure = depsClosure(
    listed.filter((n) => !skip(n)),
    (n) => {
      const m = manifests.get(n);
      return m ? (m.deps ?? []).filter((d) => !skip(d)) : undefined;
    },
  );
  return { closure, manifests };
}

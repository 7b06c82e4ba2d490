/** The packages of an image: the listed ones, then what they need. */
export interface ImageClosure {
  /** Package names in install order: the listed ones as listed, then each dependency after the first package needing it. */
  order: string[];
  /** Dependencies no built package provides, with the packages needing them. */
  missing: { name: string; neededBy: string[] }[];
}

/**
 * The runtime closure of an image's packages: `listed` (disk.packages) and, breadth
 * first, every name in their manifests' `deps` — a subpackage name (libcxx, mksh-doc)
 * being a package of its own. `depsOf(name)` gives a built package's deps, undefined
 * when it has not been built. Pure.
 */
export function imageClosure(listed: string[], depsOf: (name: string) => string[] | undefined): ImageClosure {
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

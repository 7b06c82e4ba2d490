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

/** One thing that keeps a plan from being built (`chroot plan --json` lists them). */
export type PlanProblem =
  | { kind: 'unknown-package'; name: string; message: string }
  | { kind: 'missing'; name: string; askedBy: string[]; message: string }
  | { kind: 'cycle'; cycle: string[]; message: string };

/** Options of planning. */
export interface PlanOptions {
  /**
   * Every `bad` GNU tool comes from the build environment, even when a recipe provides
   * it (the toolchain phase: the farm image has GNU make; the tree's gmake needs musl).
   */
  badFromBuildEnv?: boolean;
}

/**
 * Plans a build and reports every problem at once: each unknown selected package, each
 * dependency no recipe provides (with every recipe asking for it), each cycle (one per
 * strongly connected component of the dependency graph, Tarjan's algorithm). `order` is
 * empty when there are problems. Pure. See planBuild for the rules.
 */
export function analysePlan(recipes: RecipeDeps[], selected: string[], base: string[], options: PlanOptions = {}): Plan & { problems: PlanProblem[] } {
  const provider = providers(recipes);
  const baseSet = baseNames(provider, base);
  const problems: PlanProblem[] = [];
  for (const name of selected) {
    if (!provider.has(name)) problems.push({ kind: 'unknown-package', name, message: `no recipe provides "${name}"` });
  }
  const roots = (selected.length ? selected : recipes.map((r) => r.name)).filter((n) => provider.has(n)).map((n) => provider.get(n)!.name);
  // an explicitly selected package is built even when the base provides it
  const starts = [...new Set(roots)].sort().filter((n) => selected.length || !baseSet.has(n));
  const graph = dependencyGraph(provider, baseSet, starts, options);
  problems.push(...missingProblems(graph.missing));
  for (const cycle of cycles(graph.edges)) problems.push({ kind: 'cycle', cycle, message: `dependency cycle: ${cycle.join(' → ')}` });
  const order = problems.length === 0 ? postOrder(graph.edges, starts) : [];
  const selectedSet = new Set(roots);
  return {
    order,
    selected: [...selectedSet],
    pulledIn: order.filter((n) => !selectedSet.has(n)),
    fromBase: [...graph.fromBase].sort(),
    gnuFromBuildEnv: [...graph.gnu].sort(),
    problems,
  };
}

/** Name → the recipe that provides it: its own name first, else the first recipe by name that lists it in provides. Pure. */
export function providers<R extends RecipeDeps>(recipes: R[]): Map<string, R> {
  const provider = new Map<string, R>();
  for (const r of [...recipes].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const name of [r.name, ...r.provides]) if (!provider.has(name) || name === r.name) provider.set(name, r);
  }
  return provider;
}

/** The base's names with their subpackages (llvm's libcxx when llvm is in the base). Pure. */
function baseNames(provider: Map<string, RecipeDeps>, base: string[]): Set<string> {
  const baseSet = new Set(base);
  for (const name of base) {
    const r = provider.get(name);
    if (r?.name === name) for (const sub of r.provides) baseSet.add(sub);
  }
  return baseSet;
}

/** The dependency graph reachable from `starts`, and what the walk met on the way. */
interface DependencyGraph {
  /** recipe → the recipes it needs built first (sorted). */
  edges: Map<string, string[]>;
  fromBase: Set<string>;
  gnu: Set<string>;
  /** A name no recipe provides → the recipe files asking for it. */
  missing: Map<string, Set<string>>;
}

/** Walks every dependency from `starts`: base names and GNU tools from the build environment are not edges. Pure. */
function dependencyGraph(provider: Map<string, RecipeDeps>, baseSet: Set<string>, starts: string[], options: PlanOptions): DependencyGraph {
  const g: DependencyGraph = { edges: new Map(), fromBase: new Set(), gnu: new Set(), missing: new Map() };
  const walk = (name: string): void => {
    if (g.edges.has(name)) return;
    const r = provider.get(name)!;
    const needs = new Set<string>();
    g.edges.set(name, []);
    for (const dep of [...new Set([...r.deps, ...r.mkdeps])].sort()) {
      if (baseSet.has(dep)) {
        g.fromBase.add(dep);
        continue;
      }
      if (r.bad?.includes(dep) && (options.badFromBuildEnv || !provider.has(dep))) {
        g.gnu.add(dep);
        continue;
      }
      const p = provider.get(dep);
      if (!p) g.missing.set(dep, (g.missing.get(dep) ?? new Set()).add(r.file));
      else if (p.name !== name) needs.add(p.name);
    }
    g.edges.set(name, [...needs].sort());
    for (const n of needs) walk(n);
  };
  for (const root of starts) walk(root);
  return g;
}

/** One problem per missing name, with every recipe asking for it. Pure. */
function missingProblems(missing: Map<string, Set<string>>): PlanProblem[] {
  return [...missing]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, askers]) => {
      const files = [...askers].sort();
      return {
        kind: 'missing' as const,
        name,
        askedBy: files,
        message: `${files.join(', ')}: depend${files.length === 1 ? 's' : ''} on "${name}", which no recipe provides`,
      };
    });
}

/** Dependencies first: a depth-first post-order over `edges` from `starts`. Pure. */
function postOrder(edges: Map<string, string[]>, starts: string[]): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (name: string): void => {
    if (done.has(name)) return;
    done.add(name);
    for (const n of edges.get(name)!) visit(n);
    order.push(name);
  };
  for (const root of starts) visit(root);
  return order;
}

/**
 * One cycle per strongly connected component with more than one member (Tarjan's
 * algorithm), as a path from its first member by name back to itself. Pure.
 * @param edges node → nodes it needs (every node reached is a key)
 */
export function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const members = new Set<string>();
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      members.add(w);
    } while (w !== v);
    if (members.size > 1) out.push(pathWithin(edges, members));
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) strong(v);
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** The shortest path from the first member (by name) back to itself, staying in `members` (breadth first). */
function pathWithin(edges: ReadonlyMap<string, readonly string[]>, members: ReadonlySet<string>): string[] {
  const start = [...members].sort()[0]!;
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of edges.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const chain: string[] = [];
        for (let u = v; u !== start; u = parent.get(u)!) chain.unshift(u);
        return [start, ...chain, start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * The names a dependency list gives with the category `bad` (`mkdeps="bad:gmake"`):
 * GNU tools, as a `bad=` list names them. Pure.
 */
export function badCategoryNames(value: string, categories: ReadonlySet<string>): string[] {
  if (!categories.has('bad')) return [];
  const words = value.split(/[\s:]+/).filter(Boolean);
  return words.filter((w, i) => i > 0 && words[i - 1] === 'bad');
}

/**
 * A build order over recipes: a topological order of deps + mkdeps (dependencies first),
 * stable for equal inputs (ties broken by name). Names in `base` — and the subpackages of
 * a base recipe — are provided by the base sysroot: they satisfy dependencies and are not
 * built (unless selected), which breaks the cycles real trees have (musl ↔ gmake, llvm ↔
 * cmake). A `bad` GNU tool that no recipe provides (or any, with badFromBuildEnv) is
 * taken from the build environment. Pure.
 * @param selected pkgnames to build; empty means every recipe
 * @throws IgluError listing every problem analysePlan finds: unknown selected packages,
 *   dependencies no recipe provides (with the recipes asking), cycles
 */
export function planBuild(recipes: RecipeDeps[], selected: string[], base: string[], options: PlanOptions = {}): Plan {
  const { problems, ...plan } = analysePlan(recipes, selected, base, options);
  if (problems.length) throw planError(problems);
  return plan;
}

/** The IgluError for a plan's problems: one line each, with a hint for what is most likely wrong. Pure. */
export function planError(problems: PlanProblem[]): IgluError {
  const hint = problems.some((p) => p.kind === 'cycle')
    ? 'list one package of each cycle under the base sysroot (chroot.base in iglu.yaml) to break it, as Iglunix bootstraps it'
    : problems.some((p) => p.kind === 'missing')
      ? 'add recipes for the missing names; or, for a tool Debian has, name it with its Debian package under chroot.buildEnv in iglu.yaml (bmake: bmake), or under chroot.base if the base already has it'
      : 'see the tree with "iglu chroot plan --json", or check --tree';
  if (problems.length === 1) return new IgluError(problems[0]!.message, { hint });
  return new IgluError(`${problems.length} problems in the plan:\n${problems.map((p) => `- ${p.message}`).join('\n')}`, { hint });
}

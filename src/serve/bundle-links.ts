import path from 'node:path';

/** A member as the link check sees it: its name (no leading `./`), type and link target. */
export interface LinkMember {
  path: string;
  type: string;
  linkpath?: string;
}

/** How many symbolic links one resolution may pass through (the kernel's own bound, MAXSYMLINKS). */
const MAX_HOPS = 40;
/**
 * The work the whole check may take, in steps (a name looked up costs 1 + its length / 64):
 * a real bundle takes a few thousand; many deep names and long chains of links would
 * otherwise hold the service's one thread for minutes.
 */
const MAX_STEPS = 1_000_000;

/** What is left of MAX_STEPS. */
class Budget {
  left = MAX_STEPS;
  /** Takes the cost of looking `key` up. @returns false once spent */
  take(key: string): boolean {
    this.left -= 1 + (key.length >> 6);
    return this.left >= 0;
  }
}

/**
 * Why the bundle's links, taken together, may lead out of it: each link resolved as the
 * kernel will once the tree is laid, through every symbolic link of the bundle (before or
 * after it), never by its text alone — `u1 -> ..` then `u2 -> u1/..` each stay inside
 * when read alone and together lead above the bundle. A symbolic link must be a leaf:
 * a member below a link's name (tar would write through the link) or a second member
 * of that name is refused, so what a name is does not depend on the order tar writes it.
 * A hard link's target is resolved the same way, its last component not followed
 * (link(2)). A bundle whose names and links take more than MAX_STEPS to check is refused
 * as such. Pure.
 * @returns one message per refused member, naming it
 */
export function linkProblems(members: LinkMember[]): string[] {
  const names = members.map((m) => clean(m.path));
  const links = new Map<string, string>();
  members.forEach((m, i) => m.type === 'SymbolicLink' && links.set(names[i]!, m.linkpath ?? ''));
  const problems: string[] = [];
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  for (const [name] of links) if ((counts.get(name) ?? 0) > 1) problems.push(`${name}: a symbolic link and another member of the same name`);
  const budget = new Budget();
  for (const [i, m] of members.entries()) {
    const name = names[i]!;
    const through = links.size ? linkAbove(name, links, budget) : undefined;
    if (through !== undefined) problems.push(`${name}: a member below the symbolic link ${through}`);
    else if (m.type === 'SymbolicLink') {
      const why = resolve(path.posix.dirname(name), m.linkpath ?? '', links, true, budget);
      if (why) problems.push(`${name}: a link that ${why} (${m.linkpath})`);
    } else if (m.type === 'Link') {
      const why = resolve('.', m.linkpath ?? '', links, false, budget);
      if (why) problems.push(`${name}: a hard link whose target ${why} (${m.linkpath})`);
    }
    if (budget.left < 0) return [...problems, `more than ${MAX_STEPS} steps to check the names and links: too many, too deep or too long`];
  }
  return problems;
}

/** A member's name without leading `./` and trailing `/`. Pure. */
function clean(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** The symbolic link among `name`'s ancestors (`a`, `a/b` for `a/b/c`), if any. */
function linkAbove(name: string, links: Map<string, string>, budget: Budget): string | undefined {
  for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
    const above = name.slice(0, i);
    if (!budget.take(above)) return undefined;
    if (links.has(above)) return above;
  }
  return undefined;
}

/**
 * Walks `target` from the directory `from` (relative to the bundle's top) component by
 * component, replacing each symbolic link met by its own target.
 * @returns why it leaves the bundle (or loops), or undefined when it stays inside (or the budget is spent)
 */
function resolve(from: string, target: string, links: Map<string, string>, followLast: boolean, budget: Budget): string | undefined {
  const at = from === '.' ? [] : from.split('/');
  let todo = target.split('/');
  if (target.startsWith('/')) return 'leads to an absolute path';
  let hops = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!at.length) return 'leads out of the bundle';
      at.pop();
      continue;
    }
    at.push(part);
    const key = at.join('/');
    if (!budget.take(key)) return undefined;
    const link = links.get(key);
    if (link === undefined || (!followLast && !todo.length)) continue;
    if (++hops > MAX_HOPS) return `passes more than ${MAX_HOPS} links`;
    if (link.startsWith('/')) return 'leads to an absolute path through a link';
    at.pop();
    todo = [...link.split('/'), ...todo];
  }
  return undefined;
}

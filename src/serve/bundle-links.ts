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
 * Why the bundle's links, taken together, may lead out of it: each link resolved as the
 * kernel will once the tree is laid, through every symbolic link of the bundle (before or
 * after it), never by its text alone — `u1 -> ..` then `u2 -> u1/..` each stay inside
 * when read alone and together lead above the bundle. A symbolic link must be a leaf:
 * a member below a link's name (tar would write through the link) or a second member
 * of that name is refused, so what a name is does not depend on the order tar writes it.
 * A hard link's target is resolved the same way, its last component not followed
 * (link(2)). Pure.
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
  members.forEach((m, i) => {
    const name = names[i]!;
    const through = ancestors(name).find((a) => links.has(a));
    if (through !== undefined) problems.push(`${name}: a member below the symbolic link ${through}`);
    else if (m.type === 'SymbolicLink') {
      const why = resolve(path.posix.dirname(name), m.linkpath ?? '', links, true);
      if (why) problems.push(`${name}: a link that ${why} (${m.linkpath})`);
    } else if (m.type === 'Link') {
      const why = resolve('.', m.linkpath ?? '', links, false);
      if (why) problems.push(`${name}: a hard link whose target ${why} (${m.linkpath})`);
    }
  });
  return problems;
}

/** A member's name without leading `./` and trailing `/`. Pure. */
function clean(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** `a`, `a/b` for `a/b/c`. Pure. */
function ancestors(name: string): string[] {
  const parts = name.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * Walks `target` from the directory `from` (relative to the bundle's top) component by
 * component, replacing each symbolic link met by its own target.
 * @returns why it leaves the bundle (or loops), or undefined when it stays inside
 */
function resolve(from: string, target: string, links: Map<string, string>, followLast: boolean): string | undefined {
  const at = from === '.' ? [] : from.split('/');
  const todo = target.split('/');
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
    const link = links.get(at.join('/'));
    if (link === undefined || (!followLast && !todo.length)) continue;
    if (++hops > MAX_HOPS) return `passes more than ${MAX_HOPS} links`;
    if (link.startsWith('/')) return 'leads to an absolute path through a link';
    at.pop();
    todo.unshift(...link.split('/'));
  }
  return undefined;
}

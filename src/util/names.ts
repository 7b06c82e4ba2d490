import path from 'node:path';
import { IgluError } from '../errors.js';

/**
 * Whether `name` can be one path component of the work directory's layout: ASCII letters,
 * digits and `._+~-`, and any non-ASCII character but spaces and control characters (the
 * public Iglunix tree has a package named 🦆), starting with a letter, digit or non-ASCII
 * character — so never "", ".", "..", never "-x", never containing "/". pkgname, pkgver,
 * pkgrel and subpackage names become file names (build/<pkgname>,
 * out/<pkgname>.<pkgver>.tar.zst), so only such names are accepted. Pure.
 */
export function isPathComponent(name: string): boolean {
  return /^(?:[A-Za-z0-9]|[^\x00-\x7f\p{C}\p{Z}])(?:[A-Za-z0-9._+~-]|[^\x00-\x7f\p{C}\p{Z}])*$/u.test(name) && name.length <= 128;
}

/**
 * `path.join(root, ...parts)` after checking the result stays inside `root` (resolved,
 * not following links): the guard before iglu removes or writes a path built from
 * anything a recipe said. Pure.
 * @throws IgluError naming the path when it would leave `root`
 */
export function inside(root: string, ...parts: string[]): string {
  const base = path.resolve(root);
  const p = path.resolve(base, ...parts);
  if (p !== base && !p.startsWith(`${base}${path.sep}`)) {
    throw new IgluError(`refusing to touch ${p}: it is outside ${base}`, {
      hint: 'a package or recipe name must be a single path component (letters, digits, ._+~-)',
    });
  }
  return p;
}

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory of iglu's own package.json (the checkout or the installed package): the
 * nearest directory above this module's file whose package.json is named "iglu". The
 * same from tsc's output (dist/src/layout/) and from the bundled CLI (dist/bin/), so
 * every file iglu ships beside its code (chroot/, qemu/, stacks/, tree/) is found from it.
 * @throws Error when no such package.json is above it (a broken install)
 */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'iglu') return dir;
    if (dir === path.dirname(dir)) throw new Error(`iglu's package.json is not above ${start}: reinstall iglu`);
  }
}

/** iglu's version, from its package.json. */
export const IGLU_VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

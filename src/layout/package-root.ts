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
const found = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
export const PACKAGE_ROOT: string = found.dir;

/** iglu's version, from its package.json (read once, with PACKAGE_ROOT). */
export const IGLU_VERSION: string = found.version;

function findPackageRoot(start: string): { dir: string; version: string } {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    const pkg = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }) : undefined;
    if (pkg?.name === 'iglu') return { dir, version: pkg.version ?? '0.0.0' };
    if (dir === path.dirname(dir)) throw new Error(`iglu's package.json is not above ${start}: reinstall iglu`);
  }
}

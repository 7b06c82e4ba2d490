import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Workdir } from '../workdir.js';

/** iglu's chroot/ directory in the repository (sandbox-enter.sh, iglupkg.sh). */
export const CHROOT_SCRIPTS = path.resolve(fileURLToPath(new URL('../../../chroot', import.meta.url)));

/** Inside the build root: where packages are installed, the sysroot of the Iglunix target. */
export const SYSROOT = '/sysroot';

/** Where the build root's compilers for the Iglunix target are (chroot/target-bin in the runner's bind mount), first in PATH. */
export const TARGET_BIN = '/iglu/runner/target-bin';

/**
 * The chroot phase's places in the work directory: `chroot/root` (the build root),
 * `chroot/state.json` (base, installed packages, running sessions and their mounts),
 * `chroot/lock` (proper-lockfile's lock directory, with `owner.json` inside).
 */
export class ChrootPaths {
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  readonly lock: string;
  readonly lockOwner: string;

  constructor(readonly workdir: Workdir) {
    this.dir = path.join(workdir.root, 'chroot');
    this.root = path.join(this.dir, 'root');
    this.state = path.join(this.dir, 'state.json');
    this.lock = path.join(this.dir, 'lock');
    this.lockOwner = path.join(this.lock, 'owner.json');
  }

  /** The host path of a path inside the build root. */
  inRoot(inside: string): string {
    return path.join(this.root, inside);
  }
}

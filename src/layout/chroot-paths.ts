import path from 'node:path';
import type { Workdir } from './workdir.js';

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

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Workdir } from '../workdir.js';

/** iglu's package runner script (chroot/iglupkg.sh in the repository). */
export const RUNNER_SCRIPT = path.resolve(fileURLToPath(new URL('../../../chroot/iglupkg.sh', import.meta.url)));

/**
 * Where packages live in the work directory: `build/<pkgname>/` (src/, pkg/, stamps),
 * `logs/<pkgname>.log`, and the outputs `out/<pkgname>.<pkgver>.tar.zst` and
 * `out/<pkgname>.<pkgver>.json` (the manifest).
 */
export class PackagePaths {
  constructor(readonly workdir: Workdir) {}

  buildDir(name: string): string {
    return path.join(this.workdir.root, 'build', name);
  }

  logFile(name: string): string {
    return path.join(this.workdir.root, 'logs', `${name}.log`);
  }

  get outDir(): string {
    return path.join(this.workdir.root, 'out');
  }

  get shimDir(): string {
    return path.join(this.workdir.root, 'shims');
  }

  tarball(name: string, version: string): string {
    return path.join(this.outDir, `${name}.${version}.tar.zst`);
  }

  manifest(name: string, version: string): string {
    return path.join(this.outDir, `${name}.${version}.json`);
  }
}

import path from 'node:path';
import { IgluError } from '../errors.js';
import { inside, isPathComponent } from '../util/names.js';
import type { Workdir } from './workdir.js';

/**
 * Where packages live in the work directory: `build/<pkgname>/` (iglu's own stamps,
 * which no sandbox sees) holding `ws/` (the workspace a sandbox gets, with src/ and pkg/),
 * `logs/<pkgname>.log`, and the outputs `out/<pkgname>.<pkgver>.tar.zst` and
 * `out/<pkgname>.<pkgver>.json` (the manifest). Every name is checked to be one path
 * component and every path to stay inside the work directory.
 */
export class PackagePaths {
  constructor(readonly workdir: Workdir) {}

  /** build/<name>. @throws IgluError for a name that is not one path component */
  buildDir(name: string): string {
    return inside(this.workdir.root, 'build', component(name));
  }

  /** build/<name>/ws: the sandbox's workspace (src/, pkg/). */
  workspace(name: string): string {
    return path.join(this.buildDir(name), 'ws');
  }

  /** build/<name>/fetched.json: which recipe fetched ws/src and what it used; gone once a build starts in it. */
  fetchStamp(name: string): string {
    return path.join(this.buildDir(name), 'fetched.json');
  }

  logFile(name: string): string {
    return inside(this.workdir.logsDir, `${component(name)}.log`);
  }

  get outDir(): string {
    return path.join(this.workdir.root, 'out');
  }

  get shimDir(): string {
    return path.join(this.workdir.root, 'shims');
  }

  /** run/: sockets of running commands (the source broker). */
  get runDir(): string {
    return path.join(this.workdir.root, 'run');
  }

  tarball(name: string, version: string): string {
    return inside(this.outDir, `${component(name)}.${component(version)}.tar.zst`);
  }

  manifest(name: string, version: string): string {
    return inside(this.outDir, `${component(name)}.${component(version)}.json`);
  }
}

function component(name: string): string {
  if (!isPathComponent(name))
    throw new IgluError(`"${name}" is not a valid package name or version: it must be one path component (letters, digits, ._+~-)`, {
      hint: 'fix pkgname/pkgver in the recipe (iglu chroot plan lists every bad one)',
    });
  return name;
}

import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { IgluError } from '../errors.js';
import { manifestClosure } from '../packages/closure.js';
import { newestManifest, type PackageManifest } from '../packages/manifest.js';
import type { PackagePaths } from '../layout/package-paths.js';
import { copyKernelHeaders, installTarball } from './install.js';

/** build/<pkg>/sysroot: the sysroot one build sees at /sysroot. */
export function packageSysrootDir(paths: PackagePaths, name: string): string {
  return path.join(paths.buildDir(name), 'sysroot');
}

/**
 * The packages a build's sysroot holds besides the toolchain: the recipe's deps and
 * mkdeps (`needs`: the names packages carry, a subpackage being a package of its own)
 * and, breadth first, their manifests' run-time deps. Names `provided` answers for
 * (chroot.base, the toolchain phase's packages, GNU tools from the build environment)
 * are not packages of the chroot phase and are left out.
 * @returns the manifests in install order
 * @throws IgluError naming a needed package that has no built manifest (and who needs it)
 */
export async function sysrootPackages(paths: PackagePaths, pkgname: string, needs: string[], provided: Pick<ReadonlySet<string>, 'has'>): Promise<PackageManifest[]> {
  const { closure, manifests } = await manifestClosure(needs, (name) => newestManifest(paths.outDir, name, 'chroot'), (n) => provided.has(n));
  if (closure.missing.length) {
    throw new IgluError(`${pkgname}: needs ${closure.missing.map((m) => `${m.name}${m.neededBy.length ? ` (through ${m.neededBy.join(', ')})` : ''}`).join(', ')}, which has not been built`, { hint: 'build it first (iglu chroot build builds what a package needs, in order)' });
  }
  return closure.order.map((n) => manifests.get(n)!);
}

/**
 * Makes the sysroot of one build at `dir`, from nothing: the base's kernel UAPI headers,
 * then the toolchain phase's package tarballs, then the package's dependencies' tarballs
 * (sysrootPackages), each unpacked by installTarball. A build sees only what it declares
 * (as Alpine's abuild installs only makedepends), so what it detects — zstd and toybox
 * probe for zlib — does not depend on which packages happened to be built before it, and
 * a rebuild gives the same bytes. With `kernelHeaders: false` the headers are left to the
 * runner (a swarm job whose image is the build root's base copies its own).
 * @throws IgluError from installTarball for a damaged tarball
 */
export async function makePackageSysroot(dir: string, root: string, tarballs: string[], o: { kernelHeaders?: boolean } = {}): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  if (o.kernelHeaders !== false) await copyKernelHeaders(root, dir);
  for (const t of tarballs) await installTarball(t, dir);
}

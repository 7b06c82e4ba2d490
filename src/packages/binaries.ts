import { IgluError } from '../errors.js';
import { elfFilesBelow } from './elf.js';
import type { PackageManifest } from './manifest.js';

type Binary = NonNullable<PackageManifest['binaries']>[number];

/**
 * The linked ELF files in a pkgdir (relocatable objects are skipped) with what they link
 * against (elf.ts): the loader, the DT_NEEDED libraries, a library's DT_SONAME, and
 * `shared` for a shared object without a loader (a library, musl's libc.so). A
 * chroot-built program must use musl: one that names glibc, or a dynamic loader other
 * than musl's, means the build reached past the sysroot into the build root's own C
 * library.
 * @returns the files sorted by path, relative to `pkgdir`
 * @throws IgluError naming the package and the file when one does
 */
export async function checkBinaries(pkgname: string, pkgdir: string): Promise<Binary[]> {
  const found: Binary[] = [];
  for (const { rel, info } of await elfFilesBelow(pkgdir)) {
    // relocatable objects (crt1.o) are not linked: nothing to check
    if (info.type === '1') continue;
    if (info.libc === 'glibc' || (info.interpreter && !info.interpreter.includes('ld-musl'))) {
      throw new IgluError(`${pkgname}: ${rel} links against glibc (${info.interpreter ?? 'static'}), not the sysroot's musl`, {
        hint: "the build used the build root's compiler defaults: make the recipe use $CC (it carries --sysroot)",
      });
    }
    found.push({
      path: rel,
      static: info.static,
      libc: info.libc,
      ...(info.interpreter ? { interpreter: info.interpreter } : {}),
      ...(info.needed.length ? { needed: info.needed } : {}),
      ...(info.soname ? { soname: info.soname } : {}),
      ...(!info.interpreter && info.type === 'dyn' ? { shared: true } : {}),
    });
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

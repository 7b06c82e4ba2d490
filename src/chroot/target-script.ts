/** The kernel UAPI header directories of /usr/include (linux-libc-dev on Debian, `make headers` of Linux). */
export const UAPI_DIRS = ['linux', 'asm-generic', 'mtd', 'rdma', 'scsi', 'sound', 'video', 'xen', 'misc', 'drm'];

/**
 * The shell that makes the target's compiler the only one a recipe reaches in a container
 * from the farm image, as `chroot prepare` does for the build root (chroot/install.ts:
 * linkTargetCompilers, exposeTargetLoader): /usr/bin/cc, c++, clang and clang++ become
 * links to the wrappers in `targetBin` (clang aimed at musl in `sysroot`), and when
 * `sysroot` holds musl's libc.so, the container gets musl's loader
 * (/lib/ld-musl-ARCH.so.1) and its search path (/etc/ld-musl-ARCH.path; musl's
 * ldso/dynlink.c reads it), so configure tests and a build's own helpers run the target's
 * programs. Used by the toolchain phase's client container and by spread jobs. Pure.
 */
export function targetCompilersScript(targetBin: string, sysroot: string, arch = 'x86_64'): string {
  return [
    'set -e',
    `for n in cc c++ clang clang++; do ln -sfn "${targetBin}/$n" "/usr/bin/$n"; done`,
    `if [ -f "${sysroot}/usr/lib/libc.so" ]; then`,
    `  ln -sfn "${sysroot}/usr/lib/libc.so" /lib/ld-musl-${arch}.so.1`,
    `  printf '%s\\n' "${sysroot}/lib" "${sysroot}/usr/lib" >/etc/ld-musl-${arch}.path`,
    'fi',
  ].join('\n');
}

/**
 * The shell that copies the farm image's Linux UAPI headers into `sysroot`'s usr/include,
 * under what the sysroot's packages brought (cp -n), as the build root's sysroot gets them
 * (chroot/install.ts: copyKernelHeaders): `linux` in chroot.base stands for them, and
 * libc++ includes <linux/futex.h>. asm/ comes from Debian's multiarch directory when the
 * image has no plain usr/include/asm. Pure.
 */
export function kernelHeadersScript(sysroot: string, multiarch = 'x86_64-linux-gnu'): string {
  const to = `${sysroot}/usr/include`;
  return [
    'set -e',
    `for d in ${UAPI_DIRS.join(' ')}; do`,
    `  if [ -d "/usr/include/$d" ]; then mkdir -p "${to}/$d"; cp -a -n "/usr/include/$d/." "${to}/$d/"; fi`,
    'done',
    `for asm in /usr/include/asm /usr/include/${multiarch}/asm; do`,
    `  if [ -d "$asm" ]; then mkdir -p "${to}/asm"; cp -a -n "$asm/." "${to}/asm/"; break; fi`,
    'done',
  ].join('\n');
}

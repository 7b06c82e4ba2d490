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

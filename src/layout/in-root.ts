import path from 'node:path';
import { PACKAGE_ROOT } from './package-root.js';

/**
 * Where things are inside every sandbox a recipe runs in, and the constants every build
 * shares: the one place phases ask (the build root, the toolchain phase's client
 * container, a spread job, the fetch and reading sandboxes).
 */

/** Every package's files get this mtime, and builds see it as SOURCE_DATE_EPOCH (2000-01-01), seconds since 1970. */
export const SOURCE_DATE_EPOCH = 946684800;

/** iglu's chroot/ directory in the repository on the host (sandbox-enter.sh, iglupkg.sh, target-bin/). */
export const CHROOT_SCRIPTS = path.join(PACKAGE_ROOT, 'chroot');

/** iglu's qemu/ directory in the repository on the host (machines.yaml, the guest's fallback init). */
export const QEMU_DIR = path.join(PACKAGE_ROOT, 'qemu');

/** iglu's package runner script on the host (chroot/iglupkg.sh). */
export const RUNNER_SCRIPT = path.join(CHROOT_SCRIPTS, 'iglupkg.sh');

/** Inside: iglu's runner scripts (CHROOT_SCRIPTS, read-only). */
export const RUNNER_IN = '/iglu/runner';

/** Inside: the compilers for the Iglunix target (chroot/target-bin), first in PATH. */
export const TARGET_BIN = `${RUNNER_IN}/target-bin`;

/** Inside: where packages are installed, the sysroot of the Iglunix target. */
export const SYSROOT = '/sysroot';

/** Inside: the recipe tree as every phase of a package sees it (the tree below, the workspace's upper layer above). */
export const TREE_IN = '/iglu/tree';

/** Inside: iglu's own writable files of a build (distcc.log): the workspace's run/ directory. */
export const RUN_IN = '/iglu/build';

/** Inside the reading sandbox: the recipe's own directory. */
export const RECIPE_IN = '/iglu/recipe';

/** Inside the fetch sandbox: iglu's own files, node, the source cache's view, the download shims and the broker's socket. */
export const FETCH_IN = { app: '/iglu/app', node: '/iglu/node', sources: '/iglu/sources', shims: '/iglu/shims', broker: '/iglu/broker' };

/**
 * PATH of every build: the target's cc and c++ first, then the usual directories, then
 * the sysroot's: a tool the recipe builds on (mkdeps="samurai": cmake's bootstrap runs
 * samu) is found there when the base lacks it, as on Iglunix, where it is installed in /;
 * the build root runs the target's programs through musl's loader.
 */
export const BUILD_PATH = `${TARGET_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${SYSROOT}/usr/bin:${SYSROOT}/bin`;

/**
 * pkg-config's view in every build: the sysroot's .pc files, their -I and -L paths under
 * the sysroot (pkg-config(1), pkgconf(1): PKG_CONFIG_LIBDIR replaces the default search
 * path, PKG_CONFIG_SYSROOT_DIR prefixes the paths it prints), as for any cross build. A
 * pkgconf a recipe builds on (mkdeps="pkgconf": xbps) runs from the sysroot and would
 * otherwise search the build environment's /usr/lib/pkgconfig.
 */
export const PKG_CONFIG_ENV: Readonly<Record<string, string>> = {
  PKG_CONFIG_LIBDIR: `${SYSROOT}/usr/lib/pkgconfig:${SYSROOT}/usr/share/pkgconfig`,
  PKG_CONFIG_SYSROOT_DIR: SYSROOT,
};

/** PATH of a build through the farm: the target's cc and c++, then distcc's masquerade directory (distcc(1) "MASQUERADING"). */
export const FARM_PATH = BUILD_PATH.replace(`${TARGET_BIN}:`, `${TARGET_BIN}:/usr/lib/distcc:`);

/**
 * The farm's end of distcc in an iglu container on the overlay (the toolchain client, the
 * --farm container): the directory of chroot/distcc-forward's Unix socket, and the file
 * listing the tasks it may reach (outside every sandbox).
 */
export const DISTCC_FORWARD = { dir: '/run/iglu-distcc', socket: '/run/iglu-distcc/socket', allow: '/run/iglu-distcc.allow' };

/** Inside: the directory holding the distcc forwarder's socket (read-only), for a sandbox with no network but lo. */
export const DISTCC_IN = '/iglu/distcc';

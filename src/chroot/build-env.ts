import { SANDBOX_ENV } from '../sandbox/workspace.js';
import { runnerEnv } from '../recipes/read.js';
import type { Bind } from './mounts.js';
import { BUILD_PATH, CHROOT_SCRIPTS, PKG_CONFIG_ENV, RUNNER_IN, SOURCE_DATE_EPOCH } from '../layout/in-root.js';

/** The bind of iglu's runner scripts (chroot/: iglupkg.sh, recipe-env.sh, target-bin/) into the build root. */
export const RUNNER_BIND: Bind = { host: CHROOT_SCRIPTS, inside: RUNNER_IN, readOnly: true };

/**
 * The environment of a package build in the build root: the runner's variables with
 * CC=cc and CXX=c++, as Iglunix's iglupkg sets them; `cc` and `c++` (chroot/target-bin,
 * first in PATH) are the base's clang aimed at musl in the sysroot (`--target=TRIPLE
 * --sysroot=/sysroot -static`: the sysroot has musl's libc.a and crt files but no
 * compiler runtime yet, so programs are linked statically); pkg-config aimed at the
 * sysroot (PKG_CONFIG_ENV). Pure.
 */
export function chrootEnv(jobs: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...runnerEnv(),
    ...SANDBOX_ENV,
    PATH: BUILD_PATH,
    HOME: '/root',
    CC: 'cc',
    CXX: 'c++',
    IGLU_COMPILER_LAUNCHER: '',
    JOBS: String(jobs),
    SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH),
    ...PKG_CONFIG_ENV,
    ...extra,
  };
}


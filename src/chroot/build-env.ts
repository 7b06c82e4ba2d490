import { SANDBOX_ENV } from '../sandbox/workspace.js';
import { runnerEnv } from '../recipes/read.js';
import { SOURCE_DATE_EPOCH } from '../toolchain/build.js';
import type { Bind } from './mounts.js';
import { CHROOT_SCRIPTS, TARGET_BIN } from './paths.js';

/** Inside the build root: iglu's runner scripts (the tree and workspace: packages/workspace.ts). */
export const IN = { runner: '/iglu/runner' };

/** The bind of iglu's runner scripts (chroot/: iglupkg.sh, recipe-env.sh, target-bin/) into the build root. */
export const RUNNER_BIND: Bind = { host: CHROOT_SCRIPTS, inside: IN.runner, readOnly: true };

/** PATH in the build root: the target's cc and c++ first. */
export const ROOT_PATH = `${TARGET_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/** PATH of a build through the farm: the target's cc and c++, then distcc's masquerade directory (distcc(1) "MASQUERADING"). */
export const FARM_PATH = ROOT_PATH.replace(`${TARGET_BIN}:`, `${TARGET_BIN}:/usr/lib/distcc:`);

/**
 * The environment of a package build in the build root: the runner's variables with
 * CC=cc and CXX=c++, as Iglunix's iglupkg sets them; `cc` and `c++` (chroot/target-bin,
 * first in PATH) are the base's clang aimed at musl in the sysroot (`--target=TRIPLE
 * --sysroot=/sysroot -static`: the sysroot has musl's libc.a and crt files but no
 * compiler runtime yet, so programs are linked statically). Pure.
 */
export function chrootEnv(jobs: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...runnerEnv(),
    ...SANDBOX_ENV,
    PATH: ROOT_PATH,
    HOME: '/root',
    CC: 'cc',
    CXX: 'c++',
    IGLU_COMPILER_LAUNCHER: '',
    JOBS: String(jobs),
    SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH),
    ...extra,
  };
}


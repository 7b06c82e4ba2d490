import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { untarAsSandbox } from '../sandbox/untar.js';
import { IgluError } from '../errors.js';
import { treeOutputs, type PackageWorkspace } from '../packages/workspace.js';
import type { PackageStore } from '../store/package-store.js';
import { CHROOT_SCRIPTS, RUNNER_IN, RUN_IN, TREE_IN } from '../layout/in-root.js';

/**
 * The NUL-separated `KEY=VALUE` list a job passes to `env -i` (chroot/spread-job.sh):
 * the build's whole environment, nothing of the job's own. Pure.
 * @throws IgluError for a name that is not a shell variable name or a value holding NUL
 */
export function envFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || v.includes('\0'))
        throw new IgluError(`cannot pass ${JSON.stringify(k)} to a build job`, { hint: 'this is a bug in iglu' });
      return `${k}=${v}\0`;
    })
    .join('');
}

/**
 * Packs what one package job needs into a blob of the store: the package's sysroot
 * directory at /sysroot, iglu's chroot/ scripts at /iglu/runner, the recipe tree (without
 * .git and a run's src/ and out/) with the workspace's upper layer over it (the fetched
 * sources) at /iglu/tree, the workspace's run/ at /iglu/build, and the build's
 * environment (envFile) at /iglu/job/env, and 16 random bytes at /iglu/job/nonce: no two
 * jobs share a bundle, so a run that drops its own bundle never takes one another run's
 * job is about to fetch. Symlinks are stored as links, never followed.
 * The tar is written in the store's own temporary directory and moved in (no copy).
 * @returns the bundle's sha256 and size in bytes
 */
export async function makeBundle(
  store: PackageStore,
  o: { sysroot: string; ws: PackageWorkspace; env: Record<string, string> },
): Promise<{ sha256: string; size: number }> {
  const file = store.tmpFile();
  const scratch = await mkdtemp(path.join(path.dirname(file), 'env-'));
  try {
    await mkdir(path.join(scratch, 'job'));
    await writeFile(path.join(scratch, 'job', 'env'), envFile(o.env), { mode: 0o600 });
    await writeFile(path.join(scratch, 'job', 'nonce'), randomBytes(16).toString('hex'), { mode: 0o600 });
    const rel = (inside: string) => inside.replace(/^\//, '');
    await tar.c({ file, cwd: o.sysroot, prefix: 'sysroot', portable: true }, ['.']);
    // a directory reached through a link (iglu installed by npm link, a tree given as a link) goes by its contents
    await tar.r({ file, cwd: await realpath(CHROOT_SCRIPTS), prefix: rel(RUNNER_IN), portable: true }, ['.']);
    await tar.r({ file, cwd: await realpath(o.ws.tree), prefix: rel(TREE_IN), portable: true, filter: (p) => !treeOutputs(p) }, ['.']);
    await tar.r({ file, cwd: path.join(o.ws.layers, 'upper'), prefix: rel(TREE_IN), portable: true }, ['.']);
    await tar.r({ file, cwd: o.ws.run, prefix: rel(RUN_IN), portable: true }, ['.']);
    await tar.r({ file, cwd: scratch, prefix: 'iglu', portable: true }, ['job']);
    return await store.adopt(file);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(file, { force: true });
  }
}

/**
 * Takes what a job sent back (staging/<token>/out.tar: untrusted) into the package's
 * workspace: its `out/` replaces the recipe directory's out/, its `iglu/build/` files go
 * into run/ (the compile logs). GNU tar extracts into a fresh directory inside the
 * workspace as the sandbox's uid (sandbox/untar.ts: nothing owned by root, no device
 * node; no member outside it: tar refuses `..` and strips `/`); then only those two
 * directories are moved into place.
 * @throws IgluError when the job sent nothing, a device node, or tar fails
 */
export async function takeOutputs(staged: string, ws: PackageWorkspace): Promise<void> {
  const dir = await mkdtemp(path.join(ws.dir, 'job-out-'));
  try {
    await untarAsSandbox(createReadStream(staged), dir, { members: ['out', 'iglu/build'], what: 'what the build job sent back' });
    await rm(path.join(ws.recipeDir, 'out'), { recursive: true, force: true });
    await rename(path.join(dir, 'out'), path.join(ws.recipeDir, 'out'));
    await mkdir(ws.run, { recursive: true });
    for (const f of await readdir(path.join(dir, 'iglu', 'build')).catch(() => [] as string[])) {
      await rename(path.join(dir, 'iglu', 'build', f), path.join(ws.run, f));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import type { RunContext } from '../run-context.js';
import { exists } from '../util/exists.js';
import { ChrootInUse, lockChroot } from './lock.js';
import { ChrootPaths } from '../layout/chroot-paths.js';
import { describeReleased, releaseLeftovers } from './recover.js';

/**
 * Runs `work` holding the work directory's chroot lock, after making its package trees
 * root's alone (Workdir.secure) and releasing what a killed iglu left behind (recover.ts);
 * says on stderr what was released. The lock is released
 * when `work` settles.
 * @param command the command line, shown to a second iglu the lock refuses
 * @throws IgluError when another running iglu holds the lock, and what `work` throws
 */
export async function withChroot<T>(ctx: RunContext, command: string, work: (paths: ChrootPaths) => Promise<T>): Promise<T> {
  const paths = new ChrootPaths(ctx.workdir);
  await ctx.workdir.secure();
  await using _lock = await lockChroot(paths, command);
  const said = describeReleased(await releaseLeftovers(paths, ctx.engine));
  if (said) process.stderr.write(`iglu: ${said}\n`);
  return await work(paths);
}

/**
 * The check every iglu command makes first: when the work directory has a chroot state,
 * release what a killed iglu left there. Skipped quietly while another iglu holds the
 * lock (its sessions are alive; it releases them itself).
 */
export async function releaseBeforeAnything(ctx: RunContext): Promise<void> {
  const paths = new ChrootPaths(ctx.workdir);
  if (!(await exists(paths.state))) return;
  try {
    await withChroot(ctx, 'release leftovers', () => Promise.resolve(undefined));
  } catch (err) {
    if (!(err instanceof ChrootInUse)) throw err;
  }
}

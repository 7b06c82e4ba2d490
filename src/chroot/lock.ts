import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import { ExitCode, IgluError } from '../errors.js';
import { log } from '../log.js';
import type { ChrootPaths } from '../layout/chroot-paths.js';
import { isRunning, processRef, type ProcessRef } from './process.js';

/** The refusal when another running iglu holds the lock (an IgluError, exit 75: ExitCode.busy). */
export class ChrootInUse extends IgluError {
  constructor(message: string, options: { hint?: string } = {}) {
    super(message, { ...options, exitCode: ExitCode.busy });
  }
}

interface Owner extends ProcessRef {
  command: string;
  since: string;
}

/**
 * Takes the work directory's chroot lock (proper-lockfile: an atomic mkdir(2) of
 * `chroot/lock`, its mtime refreshed while held) and records who holds it. A lock left by
 * an iglu that no longer runs (killed with SIGKILL) is taken over at once, also once it is
 * older than proper-lockfile's `stale` time; one held by a running iglu is refused. Dispose the result (`await using`) to release it.
 * @param command what this iglu runs, shown to a second iglu that is refused
 * @throws ChrootInUse naming the holder (pid, command, since when) when another iglu runs
 */
export async function lockChroot(paths: ChrootPaths, command: string): Promise<AsyncDisposable> {
  await mkdir(paths.dir, { recursive: true });
  const take = () =>
    lockfile.lock(paths.dir, {
      lockfilePath: paths.lock,
      realpath: false,
      stale: 30_000,
      update: 5_000,
      retries: 0,
      onCompromised: (err) => log.build('chroot lock compromised: %s', err.message),
    });
  let release: () => Promise<void>;
  try {
    release = await take();
  } catch (err) {
    // ENOTEMPTY: the lock is older than `stale` (its holder stopped refreshing it: killed),
    // and proper-lockfile's own rmdir(2) of it fails on the owner file inside
    if (!['ELOCKED', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    const owner = await readOwner(paths);
    // no owner yet: another iglu has just taken the lock and not written it down
    if (!owner || (await isRunning(owner))) {
      const who = owner ? ` (pid ${owner.pid}, "${owner.command}", since ${owner.since})` : '';
      throw new ChrootInUse(`the work directory ${paths.workdir.root} is in use by another iglu${who}`, {
        hint: 'wait for it to finish or stop it (Ctrl-C); a lock left by a killed iglu is taken over automatically',
      });
    }
    log.build('taking over the chroot lock of pid %d, which no longer runs', owner.pid);
    await rm(paths.lock, { recursive: true, force: true });
    release = await take();
  }
  const me: Owner = { ...(await processRef()), command, since: new Date().toISOString() };
  // inside the lock directory, so it goes away with the lock. Writing it changes the
  // directory's mtime, which proper-lockfile checks on every refresh (a changed mtime means
  // "compromised"): put the mtime back as it was.
  const { atime, mtime } = await stat(paths.lock);
  await writeFile(paths.lockOwner, `${JSON.stringify(me)}\n`);
  await utimes(paths.lock, atime, mtime);
  return {
    async [Symbol.asyncDispose]() {
      // proper-lockfile removes the lock with rmdir(2): empty it first
      await rm(paths.lockOwner, { force: true });
      await release().catch((e: unknown) => log.build('release chroot lock: %s', (e as Error).message));
    },
  };
}

async function readOwner(paths: ChrootPaths): Promise<Owner | undefined> {
  try {
    return JSON.parse(await readFile(paths.lockOwner, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

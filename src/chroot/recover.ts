import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from '../docker/index.js';
import { log } from '../log.js';
import { sweepDeadPidEntries } from '../util/leftovers.js';
import { unmountUnder } from '../util/unmount.js';
import type { ChrootPaths } from '../layout/chroot-paths.js';
import { isRunning } from './process.js';
import { readState, updateState, type Session } from './state.js';

/** What `releaseLeftovers` found and released. */
export interface Released {
  /** Sessions of iglu processes that no longer run. */
  sessions: number;
  /** Namespace holders (unshare) still running after their iglu died, now killed. */
  killed: number[];
  /** Containers (--farm) removed. */
  containers: string[];
  /** Host mount points under the build root, unmounted (deepest first). */
  unmounted: string[];
}

/**
 * Releases what an iglu killed mid-command (SIGKILL, a crash) left behind, before anything
 * else touches the build root. For every recorded session whose iglu no longer runs: kills
 * its unshare(1) if it somehow still runs (normally the kernel already did, through the
 * parent-death signal), removes its --farm container, and drops the session. Then
 * unmounts, deepest first, whatever is mounted at or under the build root in iglu's own
 * mount namespace (/proc/self/mountinfo) — the recorded mounts live in a private
 * namespace and should never be there, so this also covers mounts made by hand or by
 * older tools. Sessions of an iglu that still runs are left alone. The caller holds the
 * chroot lock.
 * @param engine opened only when a session recorded a container
 * @throws IgluError when a mount under the build root cannot be unmounted
 */
export async function releaseLeftovers(paths: ChrootPaths, engine?: () => Promise<Engine>): Promise<Released> {
  const released: Released = { sessions: 0, killed: [], containers: [], unmounted: [] };
  const state = await readState(paths.state);
  const dead: Session[] = [];
  for (const s of state.sessions) if (!(await isRunning(s.owner))) dead.push(s);
  for (const s of dead) {
    if (s.holder && (await isRunning(s.holder))) {
      process.kill(s.holder.pid, 'SIGKILL');
      for (let i = 0; i < 50 && (await isRunning(s.holder)); i++) await sleep(100);
      released.killed.push(s.holder.pid);
    }
    if (s.container && engine) {
      await (await engine()).containers.remove(s.container);
      released.containers.push(s.container);
    }
  }
  if (dead.length) {
    await updateState(paths.state, (st) => {
      st.sessions = st.sessions.filter((s) => !dead.some((d) => d.owner.pid === s.owner.pid && d.owner.start === s.owner.start));
    });
    released.sessions = dead.length;
  }
  // mount lists of the runner before the sandbox, one per killed build
  await sweepDeadPidEntries(paths.dir, /^mounts\.(\d+)$/);
  released.unmounted.push(...(await unmountUnder(paths.root)));
  if (released.sessions || released.unmounted.length) log.build('released leftovers: %o', released);
  return released;
}

/** One line for a user about what was released, or '' when nothing was. Pure. */
export function describeReleased(r: Released): string {
  const parts = [
    r.killed.length ? `killed ${r.killed.length} orphaned build namespace${r.killed.length > 1 ? 's' : ''}` : '',
    r.containers.length ? `removed ${r.containers.length} container${r.containers.length > 1 ? 's' : ''}` : '',
    r.unmounted.length ? `unmounted ${r.unmounted.join(', ')}` : '',
  ].filter(Boolean);
  if (!r.sessions && !parts.length) return '';
  return `released what an interrupted iglu left (${r.sessions} session${r.sessions === 1 ? '' : 's'}${parts.length ? `: ${parts.join('; ')}` : ''})`;
}

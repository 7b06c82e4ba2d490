import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { mountPoints, mountsUnder } from '../../src/util/mountinfo.js';
import { isRunning, processRef } from '../../src/chroot/process.js';
import type { ChrootState } from '../../src/chroot/state.js';
import { iglu, scratchDir } from '../support/cli.js';

// The chroot lock and the release of leftovers, without Docker: `iglu chroot fetch` on
// fixture recipes takes the same lock and makes the same first check as every command.
const FIXTURES = path.resolve(import.meta.dirname, '../../../test/fixtures/chroot-tree');
const workdir = () => scratchDir('iglu-lock-');
const fetch = (wd: string) => iglu(['--workdir', wd, 'chroot', 'fetch', '--tree', FIXTURES, 'fixc']);

test('chroot --help commands carry examples', async () => {
  for (const cmd of ['prepare', 'fetch', 'build', 'enter']) {
    const r = await iglu(['chroot', cmd, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Examples:\n {2}iglu .*chroot/);
  }
});

test('a lock held by a running iglu is refused naming it; one left by a dead iglu is taken over', async () => {
  const wd = workdir();
  mkdirSync(path.join(wd, 'chroot/lock'), { recursive: true });
  const holder = execa('sleep', ['30']);
  try {
    const alive = await processRef(holder.pid);
    writeFileSync(path.join(wd, 'chroot/lock/owner.json'), JSON.stringify({ ...alive, command: 'iglu chroot build busybox', since: '2026-01-01T00:00:00Z' }));
    const refused = await fetch(wd);
    assert.equal(refused.code, 75, 'EX_TEMPFAIL: try again later');
    assert.match(refused.stderr, new RegExp(`in use by another iglu \\(pid ${alive.pid}, "iglu chroot build busybox", since 2026-01-01`));
  } finally {
    holder.kill('SIGKILL');
    await holder.catch(() => undefined);
  }
  const taken = await fetch(wd);
  assert.equal(taken.code, 0, taken.stderr);
});

test("a dead iglu's lock older than proper-lockfile's stale time (kill -9, then a while) is taken over too", async () => {
  // proper-lockfile removes a lock unrefreshed for 30 s itself, with rmdir(2): the owner
  // file inside made every command after such a kill fail with ENOTEMPTY
  const wd = workdir();
  const lock = path.join(wd, 'chroot/lock');
  mkdirSync(lock, { recursive: true });
  writeFileSync(
    path.join(lock, 'owner.json'),
    JSON.stringify({ pid: process.pid, start: 0, command: 'iglu chroot build sleepy', since: '2026-01-01T00:00:00Z' }),
  );
  const minuteAgo = new Date(Date.now() - 60_000);
  utimesSync(lock, minuteAgo, minuteAgo);
  const taken = await fetch(wd);
  assert.equal(taken.code, 0, taken.stderr);
});

test("the next command releases a dead iglu's session: kills its namespace holder, unmounts under the build root", async () => {
  const wd = workdir();
  const rootDir = path.join(wd, 'chroot/root');
  mkdirSync(path.join(rootDir, 'proc'), { recursive: true });
  // a dead owner (a PID whose start time no longer matches) and a holder that still runs
  const owner = { pid: process.pid, start: 0 };
  const orphan = execa('sleep', ['60'], { reject: false });
  const holder = await processRef(orphan.pid);
  await execa('mount', ['-t', 'tmpfs', 'iglu-test-leftover', path.join(rootDir, 'proc')]);
  try {
    const state: ChrootState = {
      version: 1,
      installed: {},
      sessions: [
        {
          owner,
          holder,
          command: 'mksh iglupkg.sh bp',
          root: rootDir,
          mounts: [{ type: 'tmpfs', source: 'iglu-test-leftover', target: '/proc', options: '' }],
          startedAt: new Date().toISOString(),
        },
      ],
    };
    writeFileSync(path.join(wd, 'chroot/state.json'), JSON.stringify(state));
    const r = await fetch(wd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /released what an interrupted iglu left \(1 session: killed 1 orphaned build namespace; unmounted .*\/chroot\/root\/proc\)/);
    assert.equal(await isRunning(holder), false);
    assert.deepEqual(mountsUnder(mountPoints(readFileSync('/proc/self/mountinfo', 'utf8')), rootDir), []);
    assert.deepEqual((JSON.parse(readFileSync(path.join(wd, 'chroot/state.json'), 'utf8')) as ChrootState).sessions, []);
  } finally {
    orphan.kill('SIGKILL');
    await execa('umount', [path.join(rootDir, 'proc')], { reject: false });
  }
});

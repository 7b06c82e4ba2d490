import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { memberProblem } from '../../src/serve/bundle-check.js';
import { parseEvent } from '../../src/serve/client.js';
import { nextTask } from '../../src/serve/fair-share.js';
import { BUNDLE_NAME, sweepOld } from '../../src/serve/queue-dir.js';
import { serviceMetrics } from '../../src/serve/metrics.js';
import type { Task } from '../../src/serve/task.js';
import { TaskDb } from '../../src/serve/task-db.js';
import { errorOfLog, packagesOfLog } from '../../src/serve/task-progress.js';
import { addToken, findToken, hashToken, scopeAllows, seesTask } from '../../src/serve/tokens.js';

const task = (id: string, owner: string, minute: number, priority = 0): Task => ({
  id,
  owner,
  ownerId: owner,
  branch: 'main',
  priority,
  state: 'queued',
  createdAt: `2026-12-06T10:${String(minute).padStart(2, '0')}:00.000Z`,
  queuedAt: `2026-12-06T10:${String(minute).padStart(2, '0')}:00.000Z`,
  packages: [],
});

test("fair share: owners take turns, so one submitter's hundred tasks do not starve another's one", () => {
  const many = Array.from({ length: 100 }, (_, i) => task(`a${String(i).padStart(11, '0')}`, 'alice', i % 50));
  const bobs = task('b00000000000', 'bob', 59);
  // alice went last: bob's one task is next, although it is the newest
  assert.equal(nextTask([...many, bobs], new Map([['alice', '2026-12-06T11:00:00Z']]))?.id, 'b00000000000');
  // bob went last: alice's oldest
  assert.equal(
    nextTask(
      [...many, bobs],
      new Map([
        ['alice', '2026-12-06T11:00:00Z'],
        ['bob', '2026-12-06T11:05:00Z'],
      ]),
    )?.owner,
    'alice',
  );
  // neither ever started: by name, then the oldest of that owner
  assert.equal(nextTask([bobs, task('a1', 'alice', 30), task('a2', 'alice', 10)], new Map())?.id, 'a2');
  // within an owner, higher priority first; above 0 goes before every turn
  assert.equal(nextTask([task('a1', 'alice', 1), task('a2', 'alice', 2, 3)], new Map())?.id, 'a2');
  assert.equal(nextTask([bobs, task('a9', 'alice', 5, 1)], new Map([['alice', '2026-12-06T11:00:00Z']]))?.id, 'a9', 'an admin-raised task');
  assert.equal(nextTask([task('a1', 'alice', 1, -5), task('a2', 'alice', 2)], new Map())?.id, 'a2', 'a lowered one waits');
  assert.equal(nextTask([], new Map()), undefined);
});

test('bundle members: relative names inside the bundle, files, directories and links that stay inside; nothing else', () => {
  assert.equal(memberProblem({ path: 'base/x/build.sh', type: 'File', size: 9 }), undefined);
  assert.equal(memberProblem({ path: 'base/x/', type: 'Directory', size: 0 }), undefined);
  assert.equal(memberProblem({ path: 'base/x/p', type: 'SymbolicLink', size: 0, linkpath: '../../patches/a.patch' }), undefined, 'to the bundle top');
  assert.equal(memberProblem({ path: 'base/x/h', type: 'Link', size: 0, linkpath: 'base/y/build.sh' }), undefined, 'a hard link names a member');
  assert.match(memberProblem({ path: '/etc/x', type: 'File', size: 1 })!, /absolute name/);
  assert.match(memberProblem({ path: 'a/../../x', type: 'File', size: 1 })!, /"\.\."/);
  assert.match(memberProblem({ path: 'base/x/p', type: 'SymbolicLink', size: 0, linkpath: '../../../etc' })!, /leading out/);
  assert.match(memberProblem({ path: 'p', type: 'SymbolicLink', size: 0, linkpath: '/etc/passwd' })!, /absolute path/);
  assert.match(memberProblem({ path: 'h', type: 'Link', size: 0, linkpath: '../x' })!, /leading out/);
  for (const type of ['CharacterDevice', 'BlockDevice', 'FIFO']) assert.match(memberProblem({ path: 'd', type, size: 0 })!, new RegExp(`a ${type} member`));
});

test("a build's progress: each package step's latest mark, and the build's own error with its hint", () => {
  const log = [
    '❯ prepare the build root',
    '✔ prepare the build root: kept from image iglu/abyss:1',
    '❯ build the packages over the farm (--spread)',
    '❯ zlib 1.3.1',
    '❯ mksh 59c',
    '› waiting for room on the farm (0/2 jobs running)',
    '✔ zlib 1.3.1: built in 3.1 s on vm',
    '✖ mksh 59c [FAILED: mksh 59c: build failed',
    'the compiler said no]',
    '↓ motd 3 [SKIPPED: blocked by mksh]',
    'iglu: 1 package failed (mksh); 1 blocked',
    'hint: see the logs',
  ].join('\n');
  assert.deepEqual(packagesOfLog(log), [
    { name: 'zlib', version: '1.3.1', state: 'built' },
    { name: 'mksh', version: '59c', state: 'failed' },
    { name: 'motd', version: '3', state: 'blocked' },
  ]);
  assert.equal(errorOfLog(log), '1 package failed (mksh); 1 blocked (see the logs)');
  assert.equal(errorOfLog('iglu: SIGTERM: stopping and cleaning up (again to quit at once)\n'), undefined);
});

test('server-sent events: id, event and data lines; a comment is not a message', () => {
  assert.deepEqual(parseEvent('id: 120\ndata: line one\ndata: line two'), { id: '120', event: 'message', data: 'line one\nline two' });
  assert.deepEqual(parseEvent('id: 130\nevent: end\ndata: done'), { id: '130', event: 'end', data: 'done' });
  assert.equal(parseEvent(': keep-alive').event, 'comment');
  assert.equal(parseEvent('data: a: b').data, 'a: b', 'a colon in the data stays');
});

test('tokens: scopes nest (read < submit < admin), a submitter sees its own tasks, the database keeps only the hash', () => {
  assert.ok(scopeAllows('admin', 'submit') && scopeAllows('submit', 'read') && !scopeAllows('read', 'submit') && !scopeAllows('submit', 'admin'));
  assert.ok(seesTask({ id: 'a', scope: 'submit' }, 'a') && !seesTask({ id: 'a', scope: 'submit' }, 'b'));
  assert.ok(seesTask({ id: 'v', scope: 'read' }, 'b') && seesTask({ id: 'x', scope: 'admin' }, 'b'));
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-tokens-'));
  const db = new TaskDb(path.join(dir, 'tasks.db'));
  try {
    const secret = addToken(db, 'ci', 'submit');
    assert.equal(findToken(db, secret)?.name, 'ci');
    assert.equal(db.tokens()[0]?.hash, hashToken(secret));
    assert.equal(findToken(db, `${secret}x`), undefined);
    assert.throws(() => addToken(db, 'ci', 'read'), /a token named ci exists/);
    assert.throws(() => addToken(db, 'Bad Name', 'read'), /bad token name/);
    assert.throws(() => addToken(db, 'other', 'root'), /bad scope "root"/);
    assert.ok(db.revokeToken('ci'));
    assert.equal(findToken(db, secret), undefined);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the task database: a change is one transaction; a state that has ended is not left; counts and filters', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-tasks-'));
  const db = new TaskDb(path.join(dir, 'tasks.db'));
  try {
    const a = db.create({ owner: 'alice', ownerId: 'a1', branch: 'main', priority: 0 });
    const b = db.create({ owner: 'bob', ownerId: 'b1', branch: 'main', priority: 0 });
    assert.match(a.id, /^[0-9a-f]{12}$/);
    db.update(a.id, (t) => ({ ...t, state: 'done' }));
    assert.equal(db.update(a.id, () => undefined)?.state, 'done', 'undefined leaves it');
    assert.deepEqual(db.counts(), { done: 1, new: 1 });
    assert.deepEqual(
      db.list({ ownerId: 'b1' }).map((t) => t.id),
      [b.id],
    );
    assert.deepEqual(
      db.list({ states: ['done'] }).map((t) => t.id),
      [a.id],
    );
    assert.equal(
      db.update('000000000000', (t) => t),
      undefined,
    );
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('metrics: tasks by state (every state present), queued by owner, package seconds summed', () => {
  const done = {
    ...task('d1', 'alice', 1),
    state: 'done' as const,
    packages: [{ name: 'zlib', state: 'built', seconds: 3, usage: { exit: 0, cpuSeconds: 2.5, wallSeconds: 3, peakMemoryBytes: 1, diskBytes: 1 } }],
  };
  const text = serviceMetrics({ done: 1, queued: 1 }, [done, task('q1', 'bob', 2)]);
  assert.match(text, /^# TYPE iglu_serve_tasks gauge$/m);
  assert.match(text, /^iglu_serve_tasks\{state="done"\} 1$/m);
  assert.match(text, /^iglu_serve_tasks\{state="cancelled"\} 0$/m);
  assert.match(text, /^iglu_serve_queued_by_owner\{owner="bob"\} 1$/m);
  assert.match(text, /^iglu_serve_package_build_seconds\{package="zlib"\} 3$/m);
  assert.match(text, /^iglu_serve_package_cpu_seconds\{package="zlib"\} 2.5$/m);
});

test('the queue directory: which names are bundles; entries past the retention are swept, newer ones stay', async () => {
  for (const ok of ['fix.tar', 'fix-zlib.tar.gz', 'a.tgz', 'b_1.2.tar.zst']) assert.ok(BUNDLE_NAME.test(ok), ok);
  for (const no of ['.fix.tar', 'fix.tar.part', 'fix.zip', 'fix', '../x.tar']) assert.ok(!BUNDLE_NAME.test(no), no);
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-sweep-'));
  try {
    writeFileSync(path.join(dir, 'old.tar'), '');
    writeFileSync(path.join(dir, 'new.tar'), '');
    const day = 24 * 3600;
    utimesSync(path.join(dir, 'old.tar'), new Date(Date.now() - 3 * day * 1000), new Date(Date.now() - 3 * day * 1000));
    assert.deepEqual(await sweepOld([dir, path.join(dir, 'missing')], 2 * day), [path.join(dir, 'old.tar')]);
    assert.deepEqual(readdirSync(dir), ['new.tar']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

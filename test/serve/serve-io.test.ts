import assert from 'node:assert/strict';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import type { Task } from '../../src/serve/task.js';
import { iglu, scratchDir, uniqueName, writeConfig } from '../support/cli.js';
import { api, craftTar, startServe, until, type ServeChild } from '../support/serve.js';

// The build service's input and output without a farm (no task builds here): the queue
// directory as a hostile local user fills it (a FIFO, a symbolic link to root's tarball,
// links planted in done), a kill -9 and its watcher, hundreds of idle connections, a
// branch naming /etc. The service runs as root, as it does on the manager.
const branchTree = scratchDir('iglu-serve-io-tree-');
cpSync(path.resolve(import.meta.dirname, '../../../test/fixtures/serve-tree'), branchTree, { recursive: true });
const yaml = (branches = `main: ${branchTree}`) =>
  `farm:\n  name: ${uniqueName('sio')}\nserve:\n  branches:\n    ${branches}\n  connections:\n    max: 64\n    headersSeconds: 2\n    idleSeconds: 2\n`;
const root = scratchDir('iglu-serve-io-');
const args = ['--config', writeConfig(yaml()), '--workdir', root];
const queue = path.join(root, 'serve/queue');
const done = path.join(root, 'serve/done');
const port = 19000 + Math.floor(Math.random() * 1000);
let svc: ServeChild;
let admin = '';

const statusIn = (name: string) =>
  until(
    `${name} in done`,
    async () =>
      existsSync(path.join(done, `${name}.status.json`)) ? (JSON.parse(readFileSync(path.join(done, `${name}.status.json`), 'utf8')) as Task) : undefined,
    15_000,
  );
const queueTasks = async () => (await api<{ tasks: Task[] }>(svc.url, admin, 'GET', '/task')).body.tasks.filter((t) => t.owner === 'queue');
/** A bundle the service takes (one recipe of the fixture tree's shape), written to `file`. */
const goodBundle = async (file: string) =>
  craftTar(file, [{ name: 'base/hi/build.sh', type: 'file', data: 'pkgname=hi\npkgver=1\nbuild() { :; }\npackage() { :; }\n' }]);
/** Inotify watchers of this suite's queue directory. */
const watchers = async () => (await execa('pgrep', ['-f', `^inotifywait .* -- ${queue}$`], { reject: false })).stdout.split('\n').filter(Boolean);

describe('iglu serve: its queue directory, connections and branches against a hostile local user', { timeout: 300_000 }, () => {
  before(async () => {
    const r = await iglu([...args, 'serve', 'token', 'add', 'admin', '--scope', 'admin']);
    assert.equal(r.code, 0, r.stderr);
    admin = r.stdout.trim();
    svc = await startServe(args, port);
  });

  after(async () => {
    await svc?.stop();
  });

  test('a FIFO in the queue, there at start, neither blocks the queue nor becomes a task: it goes to done, refused; a bundle after it is taken', async () => {
    await svc.stop();
    await execa('mkfifo', [path.join(queue, 'fifo.tar')]);
    svc = await startServe(args, port);
    const refused = await statusIn('fifo.tar');
    assert.equal(refused.state, 'failed');
    assert.match(refused.reason ?? '', /fifo\.tar is a FIFO, not a regular file/);
    const bundle = path.join(scratchDir('iglu-q-'), 'after.tar');
    await goodBundle(bundle);
    await execa('mv', [bundle, path.join(queue, 'after.tar')]);
    const taken = await until(
      'the bundle after the FIFO',
      async () => (await queueTasks()).find((t) => t.bundle?.name === 'after.tar' && t.bundle.sha256),
      15_000,
    );
    assert.ok(['queued', 'blocked'].includes(taken.state), taken.state);
    assert.ok(!existsSync(path.join(queue, 'fifo.tar')));
    assert.equal((await queueTasks()).filter((t) => t.bundle?.name === 'fifo.tar').length, 1, 'one task for the FIFO');
  });

  test("a symbolic link to root's 0600 tarball is not followed: the refusal names no member, and its status is not world-readable", async () => {
    const secret = path.join(scratchDir('iglu-root-'), 'secret.tar');
    await craftTar(secret, [
      { name: 'base/x/build.sh', type: 'file', data: 'pkgname=x\npkgver=1\n' },
      { name: '/srv/secret-member-name', type: 'file', data: 'x' },
      { name: 'base/x/l', type: 'symlink', target: '/srv/secret-link-target' },
    ]);
    await execa('chmod', ['600', secret]);
    // made beside it and renamed in, as a writer does (a rename counts at once)
    symlinkSync(secret, `${secret}.link`);
    await execa('mv', [`${secret}.link`, path.join(queue, 'leak.tar')]);
    const refused = await statusIn('leak.tar');
    assert.equal(refused.state, 'failed');
    assert.match(refused.reason ?? '', /leak\.tar is a symbolic link, not a regular file/);
    const shown = readFileSync(path.join(done, 'leak.tar.status.json'), 'utf8') + readFileSync(path.join(done, 'leak.tar.log'), 'utf8');
    assert.doesNotMatch(shown, /secret-member-name|secret-link-target/);
    assert.equal(statSync(path.join(done, 'leak.tar.status.json')).mode & 0o077, 0, 'readable by the link owner alone');
    // a hard link to it (another name for root's file) is refused unread too
    await execa('ln', [secret, `${secret}.hard`]);
    await execa('mv', [`${secret}.hard`, path.join(queue, 'hard.tar')]);
    const hard = await statusIn('hard.tar');
    assert.match(hard.reason ?? '', /hard\.tar has 1 other hard link/);
    assert.doesNotMatch(readFileSync(path.join(done, 'hard.tar.status.json'), 'utf8'), /secret-member-name/);
  });

  test('links planted in done: the status and log are written beside them, never through them', async () => {
    const victims = scratchDir('iglu-victim-');
    mkdirSync(done, { recursive: true });
    for (const f of ['status.json', 'log']) {
      writeFileSync(path.join(victims, f), 'precious\n');
      symlinkSync(path.join(victims, f), path.join(done, `plant.tar.${f}`));
    }
    const evil = path.join(scratchDir('iglu-q-'), 'plant.tar');
    await craftTar(evil, [{ name: '/etc/cron.d/evil', type: 'file', data: '* * * * * root sh\n' }]);
    await execa('mv', [evil, path.join(queue, 'plant.tar')]);
    await until('plant.tar in done', async () => (existsSync(path.join(done, 'plant.tar')) ? true : undefined), 15_000);
    for (const f of ['status.json', 'log']) {
      assert.equal(readFileSync(path.join(victims, f), 'utf8'), 'precious\n', `${f} was written through the link`);
      assert.ok(lstatSync(path.join(done, `plant.tar.${f}`)).isFile());
    }
    assert.match((JSON.parse(readFileSync(path.join(done, 'plant.tar.status.json'), 'utf8')) as Task).reason ?? '', /an absolute name/);
  });

  test('kill -9 of the service takes its inotifywait along; one left by an older service is killed at the next start', async () => {
    assert.equal((await watchers()).length, 1);
    svc.child.kill('SIGKILL');
    await svc.child;
    await until('the watcher to go', async () => ((await watchers()).length === 0 ? true : undefined), 5_000);
    // a watcher orphaned as older versions left it (its parent gone)
    await execa('sh', ['-c', `setsid inotifywait -m -q -e close_write,moved_to --format %f -- ${queue} >/dev/null 2>&1 &`]);
    await until('the stray watcher', async () => ((await watchers()).length === 1 ? true : undefined), 5_000);
    svc = await startServe(args, port);
    assert.equal((await watchers()).length, 1, 'only the new service watches');
    assert.match(svc.log(), /killing the watcher \(pid \d+\) a stopped service left/);
  });

  test('hundreds of idle connections, silent or with half a request: turned away past serve.connections.max, closed after their time; a real request is answered', async () => {
    const sockets: Socket[] = [];
    let closed = 0;
    for (let i = 0; i < 300; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closed++);
      if (i % 2) s.on('connect', () => s.write('GET /task HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '));
      sockets.push(s);
    }
    try {
      await until('every idle connection closed', async () => (closed === 300 ? true : undefined), 10_000);
      const me = await api(svc.url, admin, 'GET', '/task');
      assert.equal(me.status, 200, JSON.stringify(me.body));
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  test('a branch naming /etc: the service does not start, saying which branch and why', async () => {
    const r = await iglu([
      '--config',
      writeConfig(yaml('etc: /etc')),
      '--workdir',
      scratchDir('iglu-serve-io-etc-'),
      'serve',
      '--listen',
      `127.0.0.1:${port + 1}`,
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /serve\.branches\.etc: \/etc is inside \/etc, a system directory/);
  });
});

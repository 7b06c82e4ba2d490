import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import type { FastifyInstance } from 'fastify';
import { ConfigSchema } from '../../src/config/schema.js';
import { ServePaths } from '../../src/layout/serve-paths.js';
import { Workdir } from '../../src/layout/workdir.js';
import { makeApi } from '../../src/serve/api.js';
import { listenAddress } from '../../src/serve/listen.js';
import { TaskService } from '../../src/serve/service.js';
import { QUEUE_OWNER_ID, type Task } from '../../src/serve/task.js';
import { TaskDb } from '../../src/serve/task-db.js';
import { sweepLeftovers } from '../../src/serve/task-files.js';
import { addToken, findToken } from '../../src/serve/tokens.js';
import { BuildWorker } from '../../src/serve/worker.js';

// The build service's store on real parts without a farm: real files in a temporary work
// directory, real SQLite, the real API through fastify's inject, the real worker ending a
// build whose exit code, result and out/ files are laid as `iglu chroot build` leaves them.
const root = mkdtempSync(path.join(tmpdir(), 'iglu-serve-store-'));
const paths = new ServePaths(new Workdir(root));
const config = (serve: Record<string, unknown> = {}) => ConfigSchema.parse({ serve }).serve;
let db: TaskDb;
let service: TaskService;
let app: FastifyInstance;
const tokens: Record<string, string> = {};

/** A gzip bundle with one recipe, `base/<pkg>/build.sh`, and `pad` bytes of padding beside it. */
async function bundle(pkg: string, pad = 0): Promise<Buffer> {
  const dir = mkdtempSync(path.join(root, 'bundle-'));
  mkdirSync(path.join(dir, 'base', pkg), { recursive: true });
  writeFileSync(path.join(dir, 'base', pkg, 'build.sh'), `pkgname=${pkg}\npkgver=1\n`);
  if (pad) writeFileSync(path.join(dir, 'base', pkg, 'pad'), Buffer.alloc(pad, 1));
  await execa('tar', ['-C', dir, '-czf', `${dir}.tar.gz`, '.']);
  return readFileSync(`${dir}.tar.gz`);
}

const call = (token: string | undefined, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(Buffer.isBuffer(payload) ? { 'content-type': 'application/octet-stream' } : {}) },
    ...(payload === undefined ? {} : { payload: payload as string }),
  });
const created = async (token: string) => (await call(token, 'POST', '/task', {})).json<{ id: string }>().id;

/**
 * Ends a task's build as `iglu chroot build` leaves it: `art 1` packed into WORKDIR/out
 * (each file renamed into place, as pack.ts does) with `content`, its log in WORKDIR/logs,
 * the result naming them and exit 0; then one worker round ends the task.
 */
async function buildArt(id: string, content: string): Promise<Task> {
  const out = path.join(root, 'out');
  const logs = path.join(root, 'logs');
  mkdirSync(out, { recursive: true });
  mkdirSync(logs, { recursive: true });
  mkdirSync(paths.task(id), { recursive: true });
  const tarball = path.join(out, 'art.1.tar.zst');
  writeFileSync(`${tarball}.tmp`, `package ${content}`);
  renameSync(`${tarball}.tmp`, tarball);
  const sha256 = createHash('sha256').update(`package ${content}`).digest('hex');
  writeFileSync(path.join(out, 'art.1.json'), JSON.stringify({ name: 'art', tarball: { file: 'art.1.tar.zst', sha256, size: 9 } }));
  writeFileSync(path.join(logs, 'art.log'), `built by ${content}\n`);
  const result = { mode: 'spread', packages: [{ name: 'art', version: '1-0', action: 'built', tarball, log: path.join(logs, 'art.log') }] };
  writeFileSync(paths.result(id), JSON.stringify(result));
  writeFileSync(paths.exit(id), '0\n');
  db.update(id, (t) => ({ ...t, state: 'building', startedAt: new Date().toISOString(), run: { pid: 999_999_999, start: 0 } }));
  await worker().tick();
  return db.get(id)!;
}

function worker(): BuildWorker {
  return new BuildWorker({ service, paths, buildArgv: () => ['true'], farmProblem: () => Promise.resolve(undefined), say: () => undefined });
}

describe('iglu serve: what a task keeps, who owns it, what one owner may hold', () => {
  before(async () => {
    db = new TaskDb(paths.db);
    service = new TaskService(db, paths, config({ maxOpenTasks: 4, maxStoredMiB: 1, maxBundleMiB: 4, unqueuedSeconds: 3600 }));
    for (const [name, scope] of [
      ['alice', 'submit'],
      ['mallory', 'submit'],
      ['admin', 'admin'],
    ] as const)
      tokens[name] = addToken(db, name, scope);
    app = await makeApi({ service, farm: () => Promise.reject(new Error('no farm')), metrics: () => Promise.resolve(''), poke: () => undefined });
  });
  after(async () => {
    await app.close();
    db.close();
    rmSync(root, { recursive: true, force: true });
  });

  test("a task's artifacts are what it built: another owner's later build of the same art 1 serves its own bytes, and changed bytes are refused", async () => {
    const alices = await created(tokens.alice!);
    const alice = await buildArt(alices, 'alice');
    assert.equal(alice.state, 'done', JSON.stringify(alice));
    const mallorys = await created(tokens.mallory!);
    await buildArt(mallorys, 'mallory');
    const get = (token: string, id: string, name: string) => call(token, 'GET', `/task/${id}/artifacts/${name}`);
    assert.equal((await get(tokens.alice!, alices, 'packages/art.1.tar.zst')).body, 'package alice', "alice's URL serves alice's package");
    assert.equal((await get(tokens.alice!, alices, 'logs/art.log')).body, 'built by alice\n');
    assert.match((await get(tokens.alice!, alices, 'packages/art.1.json')).body, /"sha256"/);
    assert.equal((await get(tokens.mallory!, mallorys, 'packages/art.1.tar.zst')).body, 'package mallory');
    const listed = (await call(tokens.alice, 'GET', `/task/${alices}/artifacts`)).json<{ artifacts: { name: string; bytes: number }[] }>().artifacts;
    assert.deepEqual(listed.map((a) => a.name).sort(), ['logs/art.log', 'packages/art.1.json', 'packages/art.1.tar.zst', 'result.json']);
    // its bytes changed in place after the task ended: refused, not served
    writeFileSync(path.join(paths.artifacts(alices), 'packages/art.1.tar.zst'), 'package evil!');
    const changed = await get(tokens.alice!, alices, 'packages/art.1.tar.zst');
    assert.equal(changed.statusCode, 500);
    assert.match(changed.json<{ error: string }>().error, /not what the task built: sha256/);
    assert.equal((await get(tokens.alice!, alices, '../../tasks.db')).statusCode, 404);
    // the tree and the unpacked bundle are gone once it ended
    assert.ok(!existsSync(paths.tree(alices)) && !existsSync(paths.unpacked(alices)));
  });

  test('uploads to one task: one at a time (409 for a second), each into a file of its own, queue waits for it; the bundle is checked again before the build', async () => {
    const id = await created(tokens.alice!);
    const slow = new PassThrough();
    const first = service.putBundle(id, slow);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(readdirSync(paths.task(id)).filter((n) => /^bundle\.[0-9a-f]{12}\.part$/.test(n)).length, 1, 'a random name per upload');
    const second = await call(tokens.alice, 'PUT', `/task/${id}/build_bundle`, await bundle('good'));
    assert.equal(second.statusCode, 409, second.body);
    assert.match(second.json<{ error: string }>().error, /an upload to task .* is in progress/);
    assert.equal((await call(tokens.alice, 'PUT', `/task/${id}/build`)).statusCode, 409, 'not queued mid-upload');
    slow.end('not a tar at all'.repeat(50));
    await assert.rejects(first, /the bundle is refused|not a tar|cannot read/);
    assert.equal(db.get(id)!.bundle, undefined);
    assert.deepEqual(readdirSync(paths.task(id)), [], 'no bundle, no upload file left');
    const ok = await call(tokens.alice, 'PUT', `/task/${id}/build_bundle`, await bundle('good'));
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(readdirSync(paths.task(id)), ['bundle']);
    assert.equal((await call(tokens.alice, 'PUT', `/task/${id}/build`)).statusCode, 202);
    // the stored bundle is swapped after its check: the build refuses it
    writeFileSync(paths.bundle(id), await bundle('swapped'));
    await worker().tick();
    const t = db.get(id)!;
    assert.equal(t.state, 'failed');
    assert.match(t.reason ?? '', /its bundle is not the one that was checked/);
  });

  test("one owner's limits: open tasks (429) and stored bytes (413), each saying which setting; the queue directory is not limited", async () => {
    const mine = db.list({ ownerId: findToken(db, tokens.mallory)!.id }).filter((t) => t.state === 'new').length;
    for (let i = mine; i < 4; i++) await created(tokens.mallory!);
    const refused = await call(tokens.mallory, 'POST', '/task', {});
    assert.equal(refused.statusCode, 429);
    assert.match(refused.json<{ error: string }>().error, /mallory has 4 tasks open.*serve\.maxOpenTasks: 4/);
    assert.ok(service.create({ name: 'queue', id: QUEUE_OWNER_ID }, { mayRaise: false }), 'the queue directory');
    // 1 MiB per owner: alice keeps 200 KiB of artifacts; a 900 KiB bundle (stored: incompressible) passes it
    const done = db.list({ ownerId: findToken(db, tokens.alice)!.id, states: ['done'] })[0]!;
    db.update(done.id, (t) => ({ ...t, artifacts: [{ name: 'packages/x', bytes: 200 * 1024, sha256: '' }] }));
    const id = await created(tokens.alice!);
    const big = await call(tokens.alice, 'PUT', `/task/${id}/build_bundle`, await randomBundle());
    assert.equal(big.statusCode, 413, big.body);
    assert.match(big.json<{ error: string }>().error, /alice's tasks keep \d+ bytes; with this bundle more than the 1048576 .*serve\.maxStoredMiB/);
    assert.deepEqual(readdirSync(paths.task(id)), [], 'nothing kept');
  });

  test('disk: a task never queued is cancelled and its bundle removed; a cancelled one loses its bundle at once; upload files and unknown task directories are swept at start', async () => {
    const id = await created(tokens.admin!);
    assert.equal((await call(tokens.admin, 'PUT', `/task/${id}/build_bundle`, await bundle('late'))).statusCode, 200);
    assert.ok(existsSync(paths.bundle(id)));
    assert.deepEqual(service.expireUnqueued(), [], 'not yet');
    const expired = service.expireUnqueued(Date.now() + 3601 * 1000);
    assert.ok(expired.some((t) => t.id === id));
    assert.equal(db.get(id)!.state, 'cancelled');
    assert.match(db.get(id)!.reason ?? '', /not queued within 3600 s of its creation \(serve\.unqueuedSeconds\)/);
    await until(() => !existsSync(paths.bundle(id)));
    const other = await created(tokens.admin!);
    assert.equal((await call(tokens.admin, 'PUT', `/task/${other}/build_bundle`, await bundle('gone'))).statusCode, 200);
    assert.equal((await call(tokens.admin, 'DELETE', `/task/${other}`)).statusCode, 200);
    await until(() => !existsSync(paths.bundle(other)));
    // a kill -9 mid-upload leaves its upload file; a task directory the database does not have
    const kept = await created(tokens.admin!);
    mkdirSync(paths.task(kept), { recursive: true });
    writeFileSync(path.join(paths.task(kept), 'bundle.0123456789ab.part'), 'half');
    writeFileSync(path.join(paths.task(kept), 'bundle.part'), 'older half');
    mkdirSync(paths.task('abcdefabcdef'), { recursive: true });
    const swept = await sweepLeftovers(paths, db);
    assert.equal(swept.length, 3, swept.join(' '));
    assert.deepEqual(readdirSync(paths.task(kept)), []);
    assert.ok(!existsSync(paths.task('abcdefabcdef')));
  });

  test("the database and its directory are root's alone: 0600 files (with -wal and -shm), a 0700 directory, also when made 0644 by an older version", () => {
    assert.equal(statSync(paths.dir).mode & 0o777, 0o700);
    for (const f of [paths.db, `${paths.db}-wal`, `${paths.db}-shm`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    const dir = mkdtempSync(path.join(tmpdir(), 'iglu-serve-old-'));
    try {
      const file = path.join(dir, 'serve', 'tasks.db');
      mkdirSync(path.dirname(file), { mode: 0o755 });
      writeFileSync(file, '', { mode: 0o644 });
      new TaskDb(file).close();
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('owners are token ids: a token added again under a revoked name sees none of the old one\'s tasks; "queue" is reserved', async () => {
    const id = await created(tokens.alice!);
    assert.ok(db.revokeToken('alice'));
    const again = addToken(db, 'alice', 'submit');
    assert.equal((await call(again, 'GET', `/task/${id}/status`)).statusCode, 404);
    assert.ok(!(await call(again, 'GET', '/task')).json<{ tasks: Task[] }>().tasks.some((t) => t.id === id));
    assert.equal((await call(again, 'DELETE', `/task/${id}`)).statusCode, 404);
    assert.throws(
      () => addToken(db, 'queue', 'submit'),
      (err: Error & { hint?: string }) => /reserved/.test(err.message) && /another name/.test(err.hint ?? ''),
    );
    tokens.alice = again;
  });

  test('a database of an older version: tasks owned by names get the token ids, the queue directory its own, a revoked name nobody', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'iglu-serve-v0-'));
    try {
      const file = path.join(dir, 'tasks.db');
      const old = new Database(file);
      old.exec(`CREATE TABLE tasks (id TEXT PRIMARY KEY, owner TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL, queued_at TEXT, body TEXT NOT NULL);
        CREATE TABLE tokens (name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, scope TEXT NOT NULL, created_at TEXT NOT NULL);
        INSERT INTO tokens VALUES ('queue', 'h1', 'submit', '2026-01-01'), ('bob', 'h2', 'submit', '2026-01-01');`);
      const task = (id: string, owner: string, bundleName?: string) =>
        old
          .prepare('INSERT INTO tasks VALUES (?, ?, ?, ?, NULL, ?)')
          .run(
            id,
            owner,
            'done',
            '2026-01-01',
            JSON.stringify({ id, owner, branch: 'main', priority: 0, state: 'done', packages: [], ...(bundleName ? { bundle: { name: bundleName } } : {}) }),
          );
      task('000000000001', 'bob');
      task('000000000002', 'queue', 'fix.tar');
      task('000000000003', 'queue');
      task('000000000004', 'carol');
      old.close();
      const db2 = new TaskDb(file);
      try {
        const ids = Object.fromEntries(db2.tokens().map((t) => [t.name, t.id]));
        assert.match(ids.bob!, /^[0-9a-f]{16}$/);
        assert.equal(db2.get('000000000001')!.ownerId, ids.bob);
        assert.equal(db2.get('000000000002')!.ownerId, QUEUE_OWNER_ID, "the queue directory's");
        assert.equal(db2.get('000000000003')!.ownerId, ids.queue, 'made through the API by the token named queue');
        assert.equal(db2.get('000000000004')!.ownerId, 'gone:carol');
        assert.deepEqual(
          db2.list({ ownerId: ids.bob }).map((t) => t.id),
          ['000000000001'],
        );
      } finally {
        db2.close();
      }
      new TaskDb(file).close(); // a second open changes nothing
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('listen: loopback by default; another address is refused unless serve.allowPlaintextRemote, and then warned about', () => {
    assert.deepEqual(listenAddress('127.0.0.1:7373', false), { host: '127.0.0.1', port: 7373 });
    assert.deepEqual(listenAddress('localhost:80', false), { host: 'localhost', port: 80 });
    for (const remote of ['0.0.0.0:7373', '192.168.1.5:7373', 'build.example:7373'])
      assert.throws(
        () => listenAddress(remote, false),
        (err: Error & { hint?: string }) => /clear text/.test(err.message) && /allowPlaintextRemote/.test(err.hint ?? ''),
        remote,
      );
    assert.match(listenAddress('0.0.0.0:7373', true).warning ?? '', /WARNING: .*clear text/);
  });
});

/** A gzip bundle of one recipe and 900 KiB that does not compress. */
async function randomBundle(): Promise<Buffer> {
  const dir = mkdtempSync(path.join(root, 'bundle-'));
  mkdirSync(path.join(dir, 'base', 'big'), { recursive: true });
  writeFileSync(path.join(dir, 'base', 'big', 'build.sh'), 'pkgname=big\npkgver=1\n');
  await execa('sh', ['-c', `head -c 921600 /dev/urandom > ${dir}/base/big/noise`]);
  await execa('tar', ['-C', dir, '-czf', `${dir}.tar.gz`, '.']);
  return readFileSync(`${dir}.tar.gz`);
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check());
}

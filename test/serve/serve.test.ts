import assert from 'node:assert/strict';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { chromium } from 'playwright-core';
import { Engine, resolveEndpoint } from '../../src/docker/index.js';
import { LABEL } from '../../src/labels.js';
import type { Task } from '../../src/serve/task.js';
import { iglu, igluJson, scratchDir, uniqueName, writeConfig } from '../support/cli.js';
import { api, craftTar, startServe, until, type ServeChild } from '../support/serve.js';

// The build service on real parts: a real one-node farm, tasks built as spread swarm jobs
// by `iglu chroot build`, the REST API over real HTTP, the queue directory with a real
// writer, kill -9 of the service, a time limit, hostile bundles. The recipes are shell
// only (toolchain.packages: []): what is tested is the service, not the compilers.
const engine = new Engine(resolveEndpoint(undefined));
const farm = uniqueName('sv');
const branchTree = scratchDir('iglu-serve-tree-');
cpSync(path.resolve(import.meta.dirname, '../../../test/fixtures/serve-tree'), branchTree, { recursive: true });
const yaml = (extra = '') =>
  `farm:\n  name: ${farm}\n  network: ${farm}-net\n  readyTimeout: 90\ntoolchain:\n  packages: []\nserve:\n  branches:\n    main: ${branchTree}\n    other: ${branchTree}\n${extra}`;
const config = writeConfig(yaml('  maxBundleMiB: 1\n  maxUnpackedMiB: 2\n'));
const shortConfig = writeConfig(yaml('  timeout: 6\n'));
const root = scratchDir('iglu-serve-');
const args = ['--config', config, '--workdir', root];
const port = 17000 + Math.floor(Math.random() * 2000);
let swarmBefore = 'inactive';
let svc: ServeChild;
const tokens: Record<string, string> = {};

/** A bundle directory with one recipe: `greet` at version `ver`, whose build runs `build`. */
function recipeDir(name: string, o: { pkg?: string; ver?: string; build?: string; say?: string } = {}): string {
  const dir = path.join(scratchDir(`iglu-bundle-${name}-`), 'base', o.pkg ?? 'greet');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'build.sh'),
    `pkgname=${o.pkg ?? 'greet'}\npkgver=${o.ver ?? '2'}\nfetch() { mkdir -p g; }\nbuild() { ${o.build ?? ':'}; }\npackage() { mkdir -p "$pkgdir/usr/bin"; printf '#!/bin/sh\\necho "${o.say ?? 'hello from the bundle'}"\\n' > "$pkgdir/usr/bin/${o.pkg ?? 'greet'}"; chmod 755 "$pkgdir/usr/bin/${o.pkg ?? 'greet'}"; }\nlicense() { echo 0BSD; }\n`,
  );
  return path.dirname(path.dirname(dir));
}

async function tarOf(dir: string, file: string): Promise<Buffer> {
  await execa('tar', ['-C', dir, '-czf', file, '.']);
  return readFileSync(file);
}

const status = async (id: string, token = tokens.alice) => (await api<Task>(svc.url, token, 'GET', `/task/${id}/status`)).body;
const finished = (id: string, ms = 180_000) =>
  until(`task ${id} to end`, async () => ((t) => (['done', 'failed', 'cancelled'].includes(t.state) ? t : undefined))(await status(id, tokens.admin)), ms);
/** The REST flow's build: the job's sysroot has the kernel headers (from the job's image, the build root's base). */
const FLOW_BUILD = 'test -f /sysroot/usr/include/linux/limits.h && test -f /sysroot/usr/include/asm/unistd.h && sleep 2';
const buildJobs = async () => (await engine.services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' })).length;

/** aoinb's flow with curl's requests: create, bundle, branch, build. */
async function submitBundle(bytes: Buffer, token = tokens.alice, branch = 'main'): Promise<string> {
  const created = await api<{ id: string }>(svc.url, token, 'POST', '/task', { json: {} });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  const put = await api(svc.url, token, 'PUT', `/task/${id}/build_bundle`, { bytes, type: 'application/octet-stream' });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.equal((await api(svc.url, token, 'PUT', `/task/${id}/branch`, { json: { branch } })).status, 200);
  const queued = await api<{ state: string }>(svc.url, token, 'PUT', `/task/${id}/build`);
  assert.equal(queued.status, 202);
  return id;
}

describe('iglu serve: the farm as a build service', { timeout: 1_200_000 }, () => {
  before(async () => {
    swarmBefore = (await engine.info()).swarm.state;
    await igluJson(['--config', config, 'image', 'build']);
    await igluJson([...args, 'farm', 'up']);
    for (const [name, scope] of [
      ['alice', 'submit'],
      ['bob', 'submit'],
      ['viewer', 'read'],
      ['admin', 'admin'],
    ] as const) {
      const r = await iglu([...args, 'serve', 'token', 'add', name, '--scope', scope]);
      assert.equal(r.code, 0, r.stderr);
      tokens[name] = r.stdout.trim();
    }
    svc = await startServe(args, port);
  });

  after(async () => {
    await svc?.stop();
    await iglu([...args, 'farm', 'down', '--purge', ...(swarmBefore === 'inactive' ? ['--leave'] : [])]); // --purge: the package store's volume too
  });

  test('tokens: printed alone, stored only as hashes; 401 without one, 403 past its scope, a submitter sees only its own tasks; revoked is 401', async () => {
    assert.match(tokens.alice!, /^iglu_[A-Za-z0-9_-]{43}$/);
    const db = readFileSync(path.join(root, 'serve/tasks.db'));
    for (const t of Object.values(tokens)) assert.ok(!db.includes(t), 'no secret in the database');
    assert.equal(statSync(path.join(root, 'serve')).mode & 0o777, 0o700, "serve/ is root's alone");
    assert.equal(statSync(path.join(root, 'serve/tasks.db')).mode & 0o777, 0o600);
    const queueToken = await iglu([...args, 'serve', 'token', 'add', 'queue', '--scope', 'submit']);
    assert.equal(queueToken.code, 2, 'the queue directory owns its tasks, no token');
    assert.match(queueToken.stderr, /the token name "queue" is reserved/);
    assert.equal((await api(svc.url, undefined, 'GET', '/task')).status, 401);
    assert.equal((await api(svc.url, 'iglu_nope', 'GET', '/task')).status, 401);
    const refused = await api<{ error: string }>(svc.url, tokens.viewer, 'POST', '/task', { json: {} });
    assert.equal(refused.status, 403);
    assert.match(refused.body.error, /viewer \(read\) may not do this: it needs submit/);
    const mine = await api<{ id: string }>(svc.url, tokens.alice, 'POST', '/task', { json: {} });
    assert.equal((await api(svc.url, tokens.bob, 'GET', `/task/${mine.body.id}/status`)).status, 404, "bob does not see alice's task");
    assert.equal((await api(svc.url, tokens.bob, 'DELETE', `/task/${mine.body.id}`)).status, 404);
    assert.equal((await api(svc.url, tokens.viewer, 'GET', `/task/${mine.body.id}/status`)).status, 200, 'read sees every task');
    const bobs = await api<{ tasks: Task[] }>(svc.url, tokens.bob, 'GET', '/task');
    assert.ok(!bobs.body.tasks.some((t) => t.id === mine.body.id));
    assert.equal((await api(svc.url, tokens.alice, 'POST', '/task', { json: { priority: 5 } })).status, 403, 'only admin raises priority');
    assert.equal((await api(svc.url, tokens.alice, 'PUT', `/task/${mine.body.id}/build`)).status, 409, 'no bundle yet');
    assert.equal((await api(svc.url, tokens.alice, 'DELETE', `/task/${mine.body.id}`)).status, 200);
    const temp = (await iglu([...args, 'serve', 'token', 'add', 'temp', '--scope', 'read'])).stdout.trim();
    assert.equal((await api(svc.url, temp, 'GET', '/task')).status, 200);
    assert.equal((await iglu([...args, 'serve', 'token', 'revoke', 'temp'])).code, 0);
    assert.equal((await api(svc.url, temp, 'GET', '/task')).status, 401);
    const listed = await igluJson<{ tokens: { name: string; scope: string }[] }>([...args, 'serve', 'token', 'list']);
    assert.deepEqual(
      listed.tokens.map((t) => `${t.name}:${t.scope}`),
      ['admin:admin', 'alice:submit', 'bob:submit', 'viewer:read'],
    );
    assert.ok(!svc.log().includes(tokens.alice!), 'tokens are never logged');
  });

  test('hostile bundles are refused, each saying why, and the task keeps no bundle', async () => {
    const dir = scratchDir('iglu-hostile-bundle-');
    const ok = { name: 'base/x/build.sh', type: 'file', data: 'pkgname=x\npkgver=1\n' };
    const cases: [string, Parameters<typeof craftTar>[1], RegExp][] = [
      ['absolute', [ok, { name: '/etc/evil', type: 'file', data: 'x' }], /\/etc\/evil: an absolute name/],
      ['dotdot', [ok, { name: 'base/../../evil', type: 'file', data: 'x' }], /base\/\.\.\/\.\.\/evil: a name with "\.\."/],
      ['symlink', [ok, { name: 'base/x/out', type: 'symlink', target: '../../../etc' }], /base\/x\/out: a link leading out of the bundle/],
      ['abslink', [ok, { name: 'base/x/passwd', type: 'symlink', target: '/etc/passwd' }], /a link to the absolute path \/etc\/passwd/],
      ['hardlink', [ok, { name: 'base/x/h', type: 'link', target: '../etc/shadow' }], /base\/x\/h: a link leading out/],
      ['device', [ok, { name: 'base/x/null', type: 'chr' }], /base\/x\/null: a CharacterDevice member/],
      ['fifo', [ok, { name: 'base/x/p', type: 'fifo' }], /base\/x\/p: a FIFO member/],
      ['unpacked', [ok, { name: 'base/x/zeros', type: 'file', size: 3 * 1024 * 1024 }], /bytes unpacked, more than the 2097152/],
      // issue 33: a hard link counts its target's size; links resolved through the links before and after them
      [
        'hardlinks',
        [ok, { name: 'base/x/z', type: 'file', size: 1536 * 1024 }, { name: 'base/x/z2', type: 'link', target: 'base/x/z' }],
        /bytes unpacked, more than the 2097152/,
      ],
      [
        'linkchain',
        [
          ok,
          ...['..', 'u1/..', 'u2/..'].map((target, i) => ({ name: `c/sl/u${i + 1}`, type: 'symlink', target })),
          { name: 'c/sl/pw', type: 'symlink', target: 'u3/etc/passwd' },
        ],
        /c\/sl\/u3: a link that leads out of the bundle/,
      ],
      ['norecipe', [{ name: 'README', type: 'file', data: 'hi' }], /no recipe/],
    ];
    for (const [name, members, why] of cases) {
      const file = path.join(dir, `${name}.tar.gz`);
      await craftTar(file, members, true);
      const t = await api<{ id: string }>(svc.url, tokens.alice, 'POST', '/task', { json: {} });
      const r = await api<{ error: string; hint: string }>(svc.url, tokens.alice, 'PUT', `/task/${t.body.id}/build_bundle`, {
        bytes: readFileSync(file),
        type: 'application/gzip',
      });
      assert.equal(r.status, 400, `${name}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error, why, name);
      assert.ok(r.body.hint);
      assert.equal((await status(t.body.id)).bundle, undefined, `${name}: no bundle kept`);
      assert.ok(!existsSync(path.join(root, `serve/tasks/${t.body.id}/bundle`)));
    }
    const notTar = await api<{ id: string }>(svc.url, tokens.alice, 'POST', '/task', { json: {} });
    const junk = await api<{ error: string }>(svc.url, tokens.alice, 'PUT', `/task/${notTar.body.id}/build_bundle`, {
      bytes: 'this is not a tar'.repeat(40),
      type: 'application/octet-stream',
    });
    assert.equal(junk.status, 400);
    // larger than serve.maxBundleMiB (1): refused while it is read
    const big = await api<{ error: string }>(svc.url, tokens.alice, 'PUT', `/task/${notTar.body.id}/build_bundle`, {
      bytes: Buffer.alloc(2 * 1024 * 1024, 7),
      type: 'application/octet-stream',
    });
    assert.equal(big.status, 413);
    assert.match(big.body.error, /larger than 1048576 bytes/);
    const badBranch = await api<{ error: string; hint: string }>(svc.url, tokens.alice, 'PUT', `/task/${notTar.body.id}/branch`, {
      bytes: 'nosuch',
      type: 'text/plain',
    });
    assert.equal(badBranch.status, 400);
    assert.match(badBranch.body.error, /no branch "nosuch"/);
    assert.match(badBranch.body.hint, /main, other/);
    assert.equal((await api(svc.url, tokens.alice, 'GET', '/task/zzz/status')).status, 400, 'a malformed id');
    assert.equal((await api(svc.url, tokens.alice, 'GET', '/task/000000000000/status')).status, 404);
  });

  test('the REST flow on the farm: a bundle laid over its branch builds as a swarm job; status, packages, resources, artifacts, the log live and resumed', async () => {
    const id = await submitBundle(await tarOf(recipeDir('flow', { build: FLOW_BUILD }), path.join(scratchDir('iglu-b-'), 'b.tar.gz')), tokens.alice, 'other');
    // the log, followed live as server-sent events, then again from an event id
    const events = await readEvents(id, undefined);
    const t = await finished(id);
    assert.equal(t.state, 'done', JSON.stringify(t));
    assert.equal(t.branch, 'other');
    const greet = t.packages.find((p) => p.name === 'greet')!;
    assert.equal(greet.state, 'built');
    assert.equal(greet.version, '2-0', "the bundle's recipe replaced the branch's greet 1");
    assert.ok(greet.node, 'the node it ran on');
    assert.ok(greet.usage && greet.usage.wallSeconds >= 1 && greet.usage.peakMemoryBytes > 0, JSON.stringify(greet.usage));
    assert.ok(t.startedAt && t.endedAt && t.queuedAt);
    assert.equal(events.end, 'done');
    const log = (await api<string>(svc.url, tokens.alice, 'GET', `/task/${id}/log`)).body;
    assert.equal(events.text, log.slice(0, events.text.length), 'the events carry the log');
    assert.match(log, /✔ greet 2: built/);
    const mid = events.ids[Math.floor(events.ids.length / 2)]!;
    const resumed = await readEvents(id, mid);
    assert.equal(resumed.text, Buffer.from(log).subarray(Number(mid)).toString(), 'Last-Event-ID resumes at that byte');
    // artifacts: the package, its manifest, its log
    const arts = (await api<{ artifacts: { name: string }[] }>(svc.url, tokens.alice, 'GET', `/task/${id}/artifacts`)).body.artifacts.map((a) => a.name);
    for (const a of ['build.log', 'result.json', 'logs/greet.log', 'packages/greet.2.tar.zst', 'packages/greet.2.json'])
      assert.ok(arts.includes(a), `${a} in ${arts.join(' ')}`);
    const res = await fetch(`${svc.url}/task/${id}/artifacts/packages/greet.2.tar.zst`, { headers: { authorization: `Bearer ${tokens.alice}` } });
    const tarball = path.join(scratchDir('iglu-art-'), 'greet.tar.zst');
    writeFileSync(tarball, Buffer.from(await res.arrayBuffer()));
    assert.match((await execa('tar', ['--zstd', '-xOf', tarball, '--wildcards', '*usr/bin/greet'])).stdout, /hello from the bundle/);
    assert.equal((await api(svc.url, tokens.alice, 'GET', `/task/${id}/artifacts/..%2F..%2Ftasks.db`)).status, 404);
    // the farm, the metrics and the OpenAPI document
    const b = (await api<{ up: boolean; nodes: unknown[]; tasks: { queued: number } }>(svc.url, tokens.viewer, 'GET', '/builder/status')).body;
    assert.equal(b.up, true);
    assert.equal(b.nodes.length, 1);
    const metrics = (await api<string>(svc.url, tokens.viewer, 'GET', '/metrics')).body;
    assert.match(metrics, /^iglu_serve_tasks\{state="done"\} [1-9]/m);
    assert.match(metrics, /^iglu_serve_package_cpu_seconds\{package="greet"\} /m);
    const openapi = (await api<{ paths: Record<string, object> }>(svc.url, undefined, 'GET', '/openapi.json')).body;
    for (const p of ['/task', '/task/{id}/build_bundle', '/task/{id}/branch', '/task/{id}/build', '/task/{id}/status', '/builder/status'])
      assert.ok(openapi.paths[p], p);
    // the same bundle again: its package comes from the store at once
    const again = await submitBundle(await tarOf(recipeDir('flow2', { build: FLOW_BUILD }), path.join(scratchDir('iglu-b-'), 'b.tar.gz')), tokens.bob);
    const t2 = await finished(again);
    assert.equal(t2.state, 'done');
    assert.match(t2.packages.find((p) => p.name === 'greet')!.state, /^(up to date|from store)$/);
    const alicesLog = async () => (await api<string>(svc.url, tokens.alice, 'GET', `/task/${id}/artifacts/logs/greet.log`)).body;
    const logBefore = await alicesLog();
    assert.match(logBefore, /greet/);
    // the client: iglu submit --follow, iglu tasks
    const env = { IGLU_TOKEN: tokens.bob!, IGLU_SERVER: svc.url };
    const sub = await iglu(['submit', recipeDir('client', { say: 'hi from submit' }), '--follow', '--json'], env);
    assert.equal(sub.code, 0, sub.stderr);
    const bobs = JSON.parse(sub.stdout) as Task;
    assert.equal(bobs.state, 'done');
    assert.match(sub.stderr, /✔ greet 2: built/);
    // bob's greet 2 replaced out/greet.2.tar.zst: alice's task still serves the greet 2 it built, bob's his
    const greetOf = async (task: string, token: string) => {
      const r = await fetch(`${svc.url}/task/${task}/artifacts/packages/greet.2.tar.zst`, { headers: { authorization: `Bearer ${token}` } });
      writeFileSync(tarball, Buffer.from(await r.arrayBuffer()));
      return (await execa('tar', ['--zstd', '-xOf', tarball, '--wildcards', '*usr/bin/greet'])).stdout;
    };
    assert.match(await greetOf(id, tokens.alice!), /hello from the bundle/);
    assert.match(await greetOf(bobs.id, tokens.bob!), /hi from submit/);
    assert.equal(await alicesLog(), logBefore, "alice's package log is her build's");
    const listed = await igluJson<{ tasks: Task[] }>(['tasks'], env);
    assert.ok(listed.tasks.every((x) => x.owner === 'bob') && listed.tasks.length === 2);
  });

  test('the queue directory: a bundle becomes a task only once its writer closes it; then it moves to done with its status and log', async () => {
    const queue = path.join(root, 'serve/queue');
    const done = path.join(root, 'serve/done');
    const bytes = await tarOf(recipeDir('queue', { pkg: 'motd', ver: '3' }), path.join(scratchDir('iglu-b-'), 'q.tar.gz'));
    const before = (await api<{ tasks: Task[] }>(svc.url, tokens.admin, 'GET', '/task')).body.tasks.length;
    const fd = openSync(path.join(queue, 'stall.tar.gz'), 'w');
    writeSync(fd, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await sleep(2500); // a writer that stalls mid-file
    assert.equal((await api<{ tasks: Task[] }>(svc.url, tokens.admin, 'GET', '/task')).body.tasks.length, before, 'no task from half a bundle');
    writeSync(fd, bytes.subarray(Math.floor(bytes.length / 2)));
    closeSync(fd);
    const task = await until(
      'the queued task',
      async () => (await api<{ tasks: Task[] }>(svc.url, tokens.admin, 'GET', '/task')).body.tasks.find((t) => t.owner === 'queue' && t.bundle),
      10_000,
    );
    assert.equal(task.bundle?.name, 'stall.tar.gz');
    const t = await finished(task.id);
    assert.equal(t.state, 'done', JSON.stringify(t));
    await until('the bundle in done', async () => (existsSync(path.join(done, 'stall.tar.gz')) ? true : undefined), 10_000);
    assert.ok(!existsSync(path.join(queue, 'stall.tar.gz')));
    assert.equal((JSON.parse(readFileSync(path.join(done, 'stall.tar.gz.status.json'), 'utf8')) as Task).state, 'done');
    assert.match(readFileSync(path.join(done, 'stall.tar.gz.log'), 'utf8'), /✔ motd 3: built/);
    // a refused bundle (renamed in, as a careful writer does) ends failed at once, saying why, and goes to done too
    const evil = path.join(scratchDir('iglu-q-'), 'evil.tar');
    await craftTar(evil, [
      { name: 'base/x/build.sh', type: 'file', data: 'pkgname=x\npkgver=1\n' },
      { name: '/etc/cron.d/evil', type: 'file', data: '* * * * * root sh\n' },
    ]);
    await execa('mv', [evil, path.join(queue, 'evil.tar')]);
    const refused = await until(
      'the refused bundle in done',
      async () =>
        existsSync(path.join(done, 'evil.tar.status.json')) ? (JSON.parse(readFileSync(path.join(done, 'evil.tar.status.json'), 'utf8')) as Task) : undefined,
      10_000,
    );
    assert.equal(refused.state, 'failed');
    assert.match(refused.reason ?? '', /\/etc\/cron\.d\/evil: an absolute name/);
    assert.ok(!existsSync('/etc/cron.d/evil'));
  });

  test('kill -9 of the service mid-build loses nothing: the next start follows the build still running to its end', async () => {
    const id = await submitBundle(await tarOf(recipeDir('k9', { build: 'sleep 12', ver: '9' }), path.join(scratchDir('iglu-b-'), 'k.tar.gz')));
    const building = await until(
      'the build to run',
      async () => ((t) => (t.state === 'building' && t.packages.some((p) => p.state === 'building') ? t : undefined))(await status(id)),
      60_000,
    );
    // an upload cut by the kill: half its body sent
    const half = (await api<{ id: string }>(svc.url, tokens.alice, 'POST', '/task', { json: {} })).body.id;
    const upload = connect(port, '127.0.0.1');
    upload.write(
      `PUT /task/${half}/build_bundle HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${tokens.alice}\r\ncontent-type: application/octet-stream\r\ncontent-length: 100000\r\n\r\n`,
    );
    upload.write(Buffer.alloc(50_000, 1));
    const parts = () => readdirSync(path.join(root, 'serve/tasks', half)).filter((n) => n.endsWith('.part'));
    await until('the upload file', async () => (existsSync(path.join(root, 'serve/tasks', half)) && parts().length ? true : undefined), 10_000);
    svc.child.kill('SIGKILL');
    await svc.child;
    upload.destroy();
    await sleep(1000);
    svc = await startServe(args, port);
    assert.deepEqual(parts(), [], 'swept at start');
    const t = await finished(id);
    assert.equal(t.state, 'done', JSON.stringify(t));
    assert.match(svc.log(), new RegExp(`task ${id}: done`));
    assert.doesNotMatch(svc.log(), /queued again/, `the build (pid ${building.run?.pid}) was followed, not started again`);
    assert.equal(t.packages.find((p) => p.name === 'greet')?.state, 'built');
  });

  test('a cancelled task and a task past its time limit: their builds stop, their jobs are removed, each says why', async () => {
    const id = await submitBundle(await tarOf(recipeDir('cancel', { build: 'sleep 300', ver: '10' }), path.join(scratchDir('iglu-b-'), 'c.tar.gz')));
    await until('its job', async () => ((await buildJobs()) > 0 ? true : undefined), 90_000);
    assert.equal((await api(svc.url, tokens.alice, 'DELETE', `/task/${id}`)).status, 200);
    const c = await finished(id, 90_000);
    assert.equal(c.state, 'cancelled');
    assert.equal(c.reason, 'cancelled by alice');
    await until('no build job left', async () => ((await buildJobs()) === 0 ? true : undefined), 30_000);
    await svc.stop();
    svc = await startServe(['--config', shortConfig, '--workdir', root], port);
    const late = await submitBundle(await tarOf(recipeDir('late', { build: 'sleep 300', ver: '11' }), path.join(scratchDir('iglu-b-'), 'l.tar.gz')));
    const t = await finished(late, 120_000);
    assert.equal(t.state, 'failed');
    assert.equal(t.reason, 'past its time limit of 6 s (serve.timeout)');
    await until('no build job left', async () => ((await buildJobs()) === 0 ? true : undefined), 30_000);
    await svc.stop();
    svc = await startServe(args, port);
  });

  test('the dashboard in a real browser (Debian chromium): log in with a token, tasks with their packages and resources, the nodes, the timeline, a task page with its error on top and its log live', async () => {
    const shots = path.resolve(import.meta.dirname, '../../../test-output');
    mkdirSync(shots, { recursive: true });
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(svc.url);
      await page.locator('#login').waitFor();
      await page.fill('#token', 'iglu_wrong');
      await page.click('#login-form button');
      await page.locator('#login-error', { hasText: 'not valid' }).waitFor();
      await page.fill('#token', tokens.viewer!);
      await page.click('#login-form button');
      await page.locator('#home').waitFor();
      const cookie = (await page.context().cookies()).find((c) => c.name === 'iglu_token');
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, 'Strict');
      assert.equal(await page.textContent('#who'), 'viewer (read)');
      await page.locator('#farm', { hasText: `${farm}: up` }).waitFor();
      const all = (await api<{ tasks: Task[] }>(svc.url, tokens.admin, 'GET', '/task')).body.tasks;
      const done = all.find((t) => t.state === 'done' && t.packages.some((p) => p.usage))!;
      const row = page.locator(`tr[data-task="${done.id}"]`);
      await row.waitFor();
      assert.match((await row.textContent()) ?? '', /done.*greet.*MiB/s, 'state, packages and peak memory');
      await page.locator('.job').first().waitFor();
      assert.ok((await page.locator('.lane').count()) >= 1, 'a lane per node and slot');
      await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });
      // a failed task: its first error on top
      const late = all.find((t) => t.reason?.startsWith('past its time limit'))!;
      await page.goto(`${svc.url}/#/task/${late.id}`);
      await page.locator('#t-error', { hasText: 'past its time limit of 6 s' }).waitFor();
      // a task building now: its log follows live to its end
      const live = await submitBundle(await tarOf(recipeDir('live', { build: 'sleep 3', ver: '12' }), path.join(scratchDir('iglu-b-'), 'v.tar.gz')));
      await page.goto(`${svc.url}/#/task/${live}`);
      await page.locator('#t-id', { hasText: live }).waitFor();
      await page.locator('#t-log', { hasText: '❯ greet 12' }).waitFor({ timeout: 60_000 });
      assert.equal((await status(live)).state, 'building', 'the log shows while it builds');
      await page.locator('#t-log', { hasText: '✔ greet 12: built' }).waitFor({ timeout: 120_000 });
      await page.locator('#t-state', { hasText: 'done' }).waitFor();
      await page.screenshot({ path: path.join(shots, 'dashboard-task.png'), fullPage: true });
      assert.deepEqual(errors, [], 'no script errors');
    } finally {
      await browser.close();
    }
  });
});

/** Reads a task's log as server-sent events until its end event (from `last`, as Last-Event-ID). */
async function readEvents(id: string, last: string | undefined): Promise<{ text: string; ids: string[]; end?: string }> {
  const res = await fetch(`${svc.url}/task/${id}/log`, {
    headers: { authorization: `Bearer ${tokens.alice}`, accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) },
  });
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const raw = await res.text();
  const out: { text: string; ids: string[]; end?: string } = { text: '', ids: [] };
  for (const block of raw.split('\n\n')) {
    const lines = block.split('\n');
    const idLine = lines.find((l) => l.startsWith('id: '));
    if (lines.includes('event: end')) {
      out.end = lines.find((l) => l.startsWith('data: '))!.slice(6);
      continue;
    }
    const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    if (!data.length) continue;
    out.text += `${data.join('\n')}\n`;
    if (idLine) out.ids.push(idLine.slice(4));
  }
  return out;
}

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { TaskInfo } from '../../src/docker/index.js';
import { envFile } from '../../src/spread/bundle.js';
import { jobName, jobServiceSpec, parseUsage } from '../../src/spread/job-spec.js';
import { retryAfter, staleJob, taskOutcome } from '../../src/spread/job.js';
import { PrioritySlots } from '../../src/spread/slots.js';
import { PackageStore } from '../../src/store/package-store.js';
import { storeServiceSpec } from '../../src/store/service.js';
import { agreedSources, resolutionKey } from '../../src/packages/inputs.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test('a package job is a one-completion replicated job that reserves CPUs and is never restarted by the swarm', () => {
  const spec = jobServiceSpec({
    farm: 'f',
    pkg: 'zlib',
    inputs: 'abc123',
    attempt: 2,
    image: 'sha256:abc',
    network: 'f-net',
    env: { IGLU_BUNDLE: 'x' },
    cpus: 1,
  }) as {
    Name: string;
    Labels: Record<string, string>;
    Mode: unknown;
    TaskTemplate: { ContainerSpec: { Image: string; Env: string[]; Hostname: string }; Resources: unknown; RestartPolicy: unknown; Networks: unknown };
  };
  assert.equal(spec.Name, 'iglu-f-build-zlib-abc123-2');
  assert.deepEqual(spec.Mode, { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
  assert.deepEqual(spec.TaskTemplate.Resources, { Reservations: { NanoCPUs: 1e9 }, Limits: { Pids: 4096 } });
  assert.deepEqual(spec.TaskTemplate.RestartPolicy, { Condition: 'none' });
  assert.deepEqual(spec.TaskTemplate.Networks, [{ Target: 'f-net' }]);
  assert.equal(spec.TaskTemplate.ContainerSpec.Image, 'sha256:abc');
  assert.ok(spec.TaskTemplate.ContainerSpec.Env.includes('IGLU_BUNDLE=x'));
  assert.equal(spec.TaskTemplate.ContainerSpec.Hostname, 'iglu-chroot', 'no build sees which node it ran on');
  assert.equal(spec.Labels['iglu.farm'], 'f');
  assert.equal(spec.Labels['iglu.role'], 'build');
  assert.equal(spec.Labels['iglu.pkg'], 'zlib');
  assert.equal(spec.Labels['iglu.inputs'], 'abc123', 'a second run with the same inputs finds it');
});

test("job names fit the Engine's 63 characters and keep the inputs and the try number", () => {
  const inputs = 'f'.repeat(64);
  const name = jobName({ farm: 'farm', pkg: `a${'b'.repeat(80)}+x`, inputs, attempt: 3 });
  assert.equal(name.length, 63, name);
  assert.match(name, /^iglu-farm-build-ab+-ffffffffffff-3$/);
  assert.notEqual(
    jobName({ farm: 'farm', pkg: 'zlib', inputs: 'a'.repeat(64), attempt: 1 }),
    jobName({ farm: 'farm', pkg: 'zlib', inputs: 'b'.repeat(64), attempt: 1 }),
    'two workdirs building zlib from other inputs do not collide',
  );
});

test("the job's usage line: the last one wins, junk gives undefined, missing numbers are 0", () => {
  const log =
    'iglu-job-usage: {"exit":0,"cpuSeconds":9}\nbuild output\niglu-job-usage: {"exit":0,"cpuSeconds":2.5,"wallSeconds":7,"peakMemoryBytes":1024,"diskBytes":2048}\n';
  assert.deepEqual(parseUsage(log), { exit: 0, cpuSeconds: 2.5, wallSeconds: 7, peakMemoryBytes: 1024, diskBytes: 2048 });
  assert.equal(parseUsage('no usage here'), undefined);
  assert.equal(parseUsage('iglu-job-usage: {not json'), undefined);
  assert.equal(parseUsage('iglu-job-usage: {"cpuSeconds":"lots"}')?.cpuSeconds, 0);
});

const task = (over: Partial<TaskInfo>): TaskInfo => ({
  id: 't',
  serviceId: 's',
  nodeId: 'n1',
  slot: 1,
  state: 'running',
  desiredState: 'complete',
  message: '',
  addresses: {},
  createdAt: '',
  ...over,
});

test('a job is a leftover only when its task ended longer ago than the grace: a running or just-ended job is followed', () => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  const ago = (min: number) => new Date(now - min * 60_000).toISOString();
  assert.equal(staleJob(undefined, now), false);
  assert.equal(staleJob(task({ state: 'running', changedAt: ago(60) }), now), false, 'a long build is not a leftover');
  assert.equal(staleJob(task({ state: 'complete', changedAt: ago(1) }), now), false, 'its run may be packing it');
  assert.equal(staleJob(task({ state: 'complete', changedAt: ago(11) }), now), true);
  assert.equal(staleJob(task({ state: 'failed', changedAt: ago(11) }), now), true);
  assert.equal(staleJob(task({ state: 'complete', changedAt: ago(3) }), now, 2 * 60_000), true);
  assert.equal(staleJob(task({ state: 'complete', changedAt: '' }), now), false, 'no time, no verdict');
});

test('task outcome: exit code when it ended, rejected when the swarm refused it, lost when its node is down or the swarm gave up, else waiting or running', () => {
  assert.deepEqual(taskOutcome(undefined, undefined), { kind: 'waiting' });
  assert.deepEqual(taskOutcome(task({ state: 'pending', nodeId: '' }), undefined), { kind: 'waiting' });
  assert.deepEqual(taskOutcome(task({}), 'ready'), { kind: 'running' });
  assert.deepEqual(taskOutcome(task({ state: 'complete', exitCode: 0 }), 'ready'), { kind: 'exited', code: 0 });
  assert.deepEqual(taskOutcome(task({ state: 'failed', exitCode: 2 }), 'ready'), { kind: 'exited', code: 2 });
  assert.deepEqual(taskOutcome(task({}), 'down'), { kind: 'lost', why: 'its node went down' });
  assert.deepEqual(taskOutcome(task({ state: 'rejected', message: 'no such image' }), 'ready'), { kind: 'rejected', why: 'task rejected: no such image' });
  // issue 33: on a swarm shared with other farms, the scheduler's rejection counted as a lost node
  assert.deepEqual(taskOutcome(task({ state: 'rejected', message: 'assigned node no longer meets constraints' }), 'ready'), {
    kind: 'rejected',
    why: 'task rejected: assigned node no longer meets constraints',
  });
  assert.deepEqual(taskOutcome(task({ state: 'orphaned' }), 'ready'), { kind: 'lost', why: 'task orphaned' });
  assert.equal(taskOutcome(task({ state: 'failed' }), 'ready').kind, 'lost', 'failed without an exit code: the container never ran the build');
});

test('after a try: a rejection is retried with backoff on a budget of its own, never counted as a lost node', () => {
  const limits = { retries: 2, rejections: 5 };
  // two rejections on the first try, as on the shared swarm, then a lost node: still two tries left after lost nodes
  assert.equal(retryAfter('rejected', { lost: 0, rejected: 1 }, limits), 1000);
  assert.equal(retryAfter('rejected', { lost: 0, rejected: 2 }, limits), 2000);
  assert.equal(retryAfter('lost', { lost: 1, rejected: 2 }, limits), 0, 'a lost node goes again at once');
  assert.equal(retryAfter('lost', { lost: 2, rejected: 2 }, limits), 0);
  assert.equal(retryAfter('lost', { lost: 3, rejected: 0 }, limits), undefined, 'the third lost node gives up');
  // rejections: bounded, doubling, at most 30 s
  assert.equal(retryAfter('rejected', { lost: 2, rejected: 5 }, limits), 16_000, 'lost nodes do not use up the rejections');
  assert.equal(retryAfter('rejected', { lost: 0, rejected: 6 }, limits), undefined);
  assert.equal(retryAfter('rejected', { lost: 0, rejected: 9 }, { retries: 0, rejections: 10 }), 30_000);
  assert.equal(retryAfter('rejected', { lost: 0, rejected: 1 }, limits, 50), 50);
});

test('priority slots: a freed slot goes to the highest priority waiter, ties by name', async () => {
  const slots = new PrioritySlots(1);
  const order: string[] = [];
  const first = await slots.acquire('first', 0);
  const waits = [
    ['b', 5],
    ['low', 1],
    ['a', 5],
    ['high', 9],
  ].map(([n, p]) =>
    slots.acquire(n as string, p as number).then((release) => {
      order.push(n as string);
      release();
    }),
  );
  assert.equal(slots.busy, 1);
  first();
  await Promise.all(waits);
  assert.deepEqual(order, ['high', 'a', 'b', 'low']);
  assert.equal(slots.busy, 0);
});

test('priority slots: a waiter whose signal aborts leaves the queue with "interrupted"', async () => {
  const slots = new PrioritySlots(1);
  const release = await slots.acquire('x', 0);
  const ac = new AbortController();
  const waiting = slots.acquire('y', 1, ac.signal);
  ac.abort();
  await assert.rejects(waiting, /interrupted/);
  release();
  const again = await slots.acquire('z', 0);
  again();
});

test('the job environment file: NUL-separated, and names that are not variables are refused', () => {
  assert.equal(envFile({ A: '1', PATH: '/bin:/usr/bin', E: 'x y=z' }), 'A=1\0PATH=/bin:/usr/bin\0E=x y=z\0');
  assert.throws(() => envFile({ 'A;rm': '1' }), /cannot pass/);
  assert.throws(() => envFile({ A: 'a\0b' }), /cannot pass/);
});

test('package store: a failed build keeps its log, never a package; the newest failure of an inputs hash wins', async () => {
  const store = new PackageStore(mkdtempSync(path.join(tmpdir(), 'iglu-store-')));
  await store.init();
  const inputs = sha('failing inputs');
  await assert.rejects(store.recordFailure({ inputs, name: 'zlib', version: '1-1', log: sha('not stored'), at: 'x' }), /its log is not in the package store/);
  const first = await store.putBytes('configure: error: no cc\n');
  await store.recordFailure({ inputs, name: 'zlib', version: '1-1', log: first, node: 'n2', at: '2026-11-22T10:00:00.000Z' });
  const second = await store.putBytes('make: *** [all] Error 2\n');
  await store.recordFailure({ inputs, name: 'zlib', version: '1-1', log: second, node: 'n3', at: '2026-11-22T11:00:00.000Z' });
  assert.equal((await store.failure(inputs))?.log, second);
  assert.equal((await store.failure(inputs))?.node, 'n3');
  assert.equal(await store.record(inputs), undefined, 'no package is recorded for a failure');
  assert.equal(await store.failure(sha('other')), undefined);
  assert.equal(await store.failure('../../etc/passwd'), undefined);
});

test('package store: blobs by sha256, a damaged blob is refused and removed, records name only stored blobs', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-store-'));
  const store = new PackageStore(dir);
  await store.init();
  const file = path.join(dir, 'in.tar');
  writeFileSync(file, 'package bytes');
  const put = await store.put(file);
  assert.deepEqual(put, { sha256: sha('package bytes'), size: 13 });
  assert.ok(await store.has(put.sha256));
  const out = path.join(dir, 'not-yet', 'out.tar');
  await store.get(put.sha256, out);
  assert.equal(readFileSync(out, 'utf8'), 'package bytes');
  // damage it
  writeFileSync(store.blobPath(put.sha256), 'something else');
  await assert.rejects(store.get(put.sha256, path.join(dir, 'again.tar')), /is damaged/);
  assert.equal(await store.has(put.sha256), false, 'the damaged blob is gone');
  assert.throws(() => store.blobPath('../../etc/passwd'), /is not a sha256/);

  const log = await store.putBytes('the log');
  const manifest = await store.putBytes('{}');
  const inputs = sha('inputs');
  await assert.rejects(
    store.publish({ inputs, name: 'zlib', version: '1', outputs: [{ name: 'zlib', manifest, tarball: put.sha256 }], log, at: '' }),
    /is not in the package store/,
  );
  assert.equal(await store.record(inputs), undefined);
  const tarball = await store.putBytes('package bytes');
  await store.publish({ inputs, name: 'zlib', version: '1', outputs: [{ name: 'zlib', manifest, tarball }], log, at: 'now' });
  assert.equal((await store.record(inputs))?.outputs[0]?.tarball, tarball);
  assert.equal(await store.record('not-a-hash'), undefined);
  assert.throws(() => store.stagedPath('../x', 'out.tar'), /bad staging path/);
});

test('the store service: nginx from the farm image on the manager node, the volume at /store, labelled', () => {
  const spec = storeServiceSpec({ name: 'f', network: 'f-net' }, 'sha256:img', 'node1', 'conf text') as {
    Name: string;
    Labels: Record<string, string>;
    TaskTemplate: { ContainerSpec: { Image: string; Env: string[]; Mounts: unknown }; Placement: unknown; Networks: unknown };
  };
  assert.equal(spec.Name, 'iglu-f-store');
  assert.deepEqual(spec.TaskTemplate.Placement, { Constraints: ['node.id==node1'] });
  assert.deepEqual(spec.TaskTemplate.ContainerSpec.Mounts, [{ Type: 'volume', Source: 'iglu-f-store', Target: '/store' }]);
  assert.deepEqual(spec.TaskTemplate.ContainerSpec.Env, ['IGLU_NGINX_CONF=conf text']);
  assert.equal(spec.Labels['iglu.role'], 'store');
  assert.match(spec.Labels['iglu.spec'] ?? '', /^[0-9a-f]{12}$/);
});

test('resolution: recipe, base and deps name the sources a build used; a machine whose pins differ fetches again', async () => {
  const key = resolutionKey({ recipe: 'r', base: 'b', deps: { musl: 'x', zlib: 'y' } });
  assert.equal(key, resolutionKey({ recipe: 'r', base: 'b', deps: { zlib: 'y', musl: 'x' } }), 'order of deps does not matter');
  assert.notEqual(key, resolutionKey({ recipe: 'r', base: 'b', deps: { musl: 'x', zlib: 'z' } }));
  const recorded = { 'https://a/x.tar': sha('x'), 'https://a/y.tar': sha('y') };
  assert.deepEqual(agreedSources(recorded, {}), recorded, 'unpinned here: taken as recorded');
  assert.deepEqual(agreedSources(recorded, { 'https://a/x.tar': { sha256: sha('x') } }), recorded);
  assert.equal(agreedSources(recorded, { 'https://a/x.tar': { sha256: sha('other') } }), undefined, 'pinned to other content here');
  const store = new PackageStore(mkdtempSync(path.join(tmpdir(), 'iglu-store-')));
  await store.init();
  assert.equal(await store.resolved(key), undefined);
  await store.resolve(key, recorded);
  assert.deepEqual(await store.resolved(key), recorded);
  assert.equal(await store.resolved('../x'), undefined);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeInfo, TaskInfo } from '../../src/docker/index.js';
import { distccHostsFor, farmHosts, farmJobs, farmSlots } from '../../src/farm/hosts.js';
import { allowList, socketEnv, socketHosts } from '../../src/farm/distcc-socket.js';

const node = (id: string, cpus: number): NodeInfo => ({ id, hostname: `host-${id}`, addr: '', state: 'ready', availability: 'active', role: 'worker', cpus });
const task = (id: string, nodeId: string, ip: string | undefined, state = 'running', desiredState = 'running'): TaskInfo => ({
  id,
  serviceId: 's',
  nodeId,
  slot: 1,
  state,
  desiredState,
  message: '',
  createdAt: '',
  addresses: ip ? { farm: [ip] } : {},
});

test("one IP/LIMIT per running task, sorted by address; a node's CPUs are shared among its tasks", () => {
  const hosts = farmHosts([task('a', 'n1', '10.0.1.10'), task('b', 'n2', '10.0.1.9'), task('c', 'n1', '10.0.1.100')], [node('n1', 4), node('n2', 2)], 'farm');
  assert.equal(distccHostsFor(hosts), '10.0.1.9/2 10.0.1.10/2 10.0.1.100/2');
  assert.equal(farmSlots(hosts), 6, "the farm's CPUs, not 4 + 4 + 2");
  assert.equal(hosts[0]!.hostname, 'host-n2');
});

test('tasks that are not running, are shutting down, or lack an overlay address are left out', () => {
  const hosts = farmHosts(
    [task('a', 'n1', '10.0.1.2', 'starting'), task('b', 'n1', '10.0.1.3', 'running', 'shutdown'), task('c', 'n1', undefined), task('d', 'n1', '10.0.1.5')],
    [node('n1', 2)],
    'farm',
  );
  assert.deepEqual(
    hosts.map((h) => h.ip),
    ['10.0.1.5'],
  );
});

test('a node without a CPU count still gets one slot; a custom port is written IP:PORT/LIMIT', () => {
  const hosts = farmHosts([task('a', 'gone', '10.0.1.2')], [], 'farm');
  assert.equal(distccHostsFor(hosts, { port: 4000 }), '10.0.1.2:4000/1');
});

test('no tasks give an empty DISTCC_HOSTS', () => {
  assert.equal(distccHostsFor(farmHosts([], [], 'farm')), '');
});

test('three tasks on two CPUs: each still gets one slot', () => {
  const hosts = farmHosts([task('a', 'n1', '10.0.1.2'), task('b', 'n1', '10.0.1.3'), task('c', 'n1', '10.0.1.4')], [node('n1', 2)], 'farm');
  assert.deepEqual(
    hosts.map((h) => h.limit),
    [1, 1, 1],
  );
});

// distcc(1), "HOST SPECIFICATIONS" and "COMPRESSION"
test("the client's part: --localslots and --localslots_cpp first; ,lzo only where traffic crosses the network (auto)", () => {
  const hosts = farmHosts(
    [task('a', 'm', '10.0.1.2'), task('b', 'w1', '10.0.1.3'), task('c', 'w2', '10.0.1.4')],
    [node('m', 2), node('w1', 8), node('w2', 8)],
    'farm',
  );
  assert.equal(
    distccHostsFor(hosts, { clientNodeId: 'm', clientCpus: 2, compression: 'auto' }),
    '--localslots=2 --localslots_cpp=4 10.0.1.2/2 10.0.1.3/8,lzo 10.0.1.4/8,lzo',
  );
  assert.equal(
    distccHostsFor(hosts, { clientNodeId: 'm', clientCpus: 2, compression: 'none' }),
    '--localslots=2 --localslots_cpp=4 10.0.1.2/2 10.0.1.3/8 10.0.1.4/8',
  );
  assert.equal(distccHostsFor(hosts, { clientNodeId: 'm', compression: 'lzo' }), '10.0.1.2/2,lzo 10.0.1.3/8,lzo 10.0.1.4/8,lzo');
});

test("localhost joins the list only when the client's node runs no task and holds a fifth of the CPUs or more", () => {
  const workers = farmHosts([task('b', 'w1', '10.0.1.3'), task('c', 'w2', '10.0.1.4')], [node('w1', 4), node('w2', 4)], 'farm');
  assert.equal(
    distccHostsFor(workers, { clientNodeId: 'm', clientCpus: 4, compression: 'none' }),
    '--localslots=4 --localslots_cpp=8 localhost/4 10.0.1.3/4 10.0.1.4/4',
    '4 of 12 CPUs',
  );
  const big = farmHosts([task('b', 'w1', '10.0.1.3'), task('c', 'w2', '10.0.1.4')], [node('w1', 32), node('w2', 32)], 'farm');
  assert.doesNotMatch(distccHostsFor(big, { clientNodeId: 'm', clientCpus: 4, compression: 'none' }), /localhost/, '4 of 68 CPUs: left out');
});

test("make -j is twice the farm's slots", () => {
  assert.deepEqual([farmJobs(0), farmJobs(1), farmJobs(6)], [2, 2, 12]);
});

test('DISTCC_HOSTS through the forwarder: TCP hosts become "@ADDRESS/LIMIT,…", localhost and options stay; the allow list names each task with its port', () => {
  assert.equal(
    socketHosts('--localslots=2 --localslots_cpp=4 localhost/2 10.0.0.2/2,lzo 10.0.0.3:3700/1'),
    '--localslots=2 --localslots_cpp=4 localhost/2 @10.0.0.2/2,lzo @10.0.0.3/1',
  );
  assert.equal(allowList([{ ip: '10.0.0.2' }, { ip: '10.0.0.3' }], 3700), '10.0.0.2 3700\n10.0.0.3 3700\n');
  assert.throws(() => allowList([{ ip: '10.0.0.2; rm -rf /' }]), /not a task address/);
  const env = socketEnv('10.0.0.2/2');
  assert.equal(env.DISTCC_HOSTS, '@10.0.0.2/2');
  assert.match(env.DISTCC_SSH!, /\/distcc-connect$/);
});

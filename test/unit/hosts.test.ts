import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeInfo, TaskInfo } from '../../src/docker/index.js';
import { distccHosts, farmHosts, farmSlots } from '../../src/farm/hosts.js';

const node = (id: string, cpus: number): NodeInfo => ({ id, hostname: `host-${id}`, addr: '', state: 'ready', availability: 'active', role: 'worker', cpus });
const task = (id: string, nodeId: string, ip: string | undefined, state = 'running', desiredState = 'running'): TaskInfo => ({
  id, serviceId: 's', nodeId, slot: 1, state, desiredState, message: '', createdAt: '', addresses: ip ? { farm: [ip] } : {},
});

test('one IP/LIMIT per running task, sorted by address, limit from the node CPUs', () => {
  const hosts = farmHosts([task('a', 'n1', '10.0.1.10'), task('b', 'n2', '10.0.1.9'), task('c', 'n1', '10.0.1.100')], [node('n1', 4), node('n2', 2)], 'farm');
  assert.equal(distccHosts(hosts), '10.0.1.9/2 10.0.1.10/4 10.0.1.100/4');
  assert.equal(farmSlots(hosts), 10);
  assert.equal(hosts[0]!.hostname, 'host-n2');
});

test('tasks that are not running, are shutting down, or lack an overlay address are left out', () => {
  const hosts = farmHosts(
    [task('a', 'n1', '10.0.1.2', 'starting'), task('b', 'n1', '10.0.1.3', 'running', 'shutdown'), task('c', 'n1', undefined), task('d', 'n1', '10.0.1.5')],
    [node('n1', 2)],
    'farm',
  );
  assert.deepEqual(hosts.map((h) => h.ip), ['10.0.1.5']);
});

test('a node without a CPU count still gets one slot; a custom port is written IP:PORT/LIMIT', () => {
  const hosts = farmHosts([task('a', 'gone', '10.0.1.2')], [], 'farm');
  assert.equal(distccHosts(hosts, 4000), '10.0.1.2:4000/1');
});

test('no tasks give an empty DISTCC_HOSTS', () => {
  assert.equal(distccHosts(farmHosts([], [], 'farm')), '');
});

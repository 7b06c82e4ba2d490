import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePlace, hereHosts } from '../../src/farm/here.js';
import type { FarmHost } from '../../src/farm/hosts.js';

const host = (ip: string, nodeId: string): FarmHost => ({ ip, limit: 2, nodeId, hostname: nodeId, taskId: `t-${ip}` });
const nodes = [
  { id: 'm', cpus: 4 },
  { id: 'w', cpus: 8 },
];

test('a farm build compiles here when every task runs on the manager and farm.oneNode is here; through the tasks otherwise', () => {
  const alone = { hosts: [host('10.0.0.2', 'm'), host('10.0.0.3', 'm')], nodes, managerNodeId: 'm' };
  assert.deepEqual(compilePlace({ oneNode: 'here' }, alone, 2), { here: true, cpus: 4 }, "the manager's CPUs");
  assert.equal(compilePlace({ oneNode: 'distcc' }, alone, 2).here, false, 'farm.oneNode: distcc sends them to the tasks anyway');
  const twoNodes = { hosts: [host('10.0.0.2', 'm'), host('10.0.0.3', 'w')], nodes, managerNodeId: 'm' };
  assert.equal(compilePlace({ oneNode: 'here' }, twoNodes, 2).here, false, 'a task on another machine');
  const elsewhere = { hosts: [host('10.0.0.3', 'w')], nodes, managerNodeId: 'm' };
  assert.equal(compilePlace({ oneNode: 'here' }, elsewhere, 2).here, false, 'the only task is on another machine');
  assert.equal(compilePlace({ oneNode: 'here' }, { ...alone, hosts: [] }, 2).here, false, 'no task: nothing to decide here');
  assert.deepEqual(compilePlace({ oneNode: 'here' }, { ...alone, nodes: [] }, 2), { here: true, cpus: 2 }, 'the fallback CPUs');
  assert.equal(hereHosts(4), 'localhost/4');
});

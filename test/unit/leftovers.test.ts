import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isJob } from '../../src/farm/drain.js';
import { ownerGone, ownerGoneHere, ownerOf, startTimeOf } from '../../src/util/owner.js';

// Who made a Docker object, and whether it is gone (kill -9 leftovers, issue 21).
test('startTimeOf reads field 22 of /proc/<pid>/stat, whatever the command name holds', () => {
  const fields = (comm: string) => `4242 (${comm}) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615`;
  assert.equal(startTimeOf(fields('node')), '987654');
  assert.equal(startTimeOf(fields('a b) c (d')), '987654', 'spaces and parentheses in the name');
  assert.equal(startTimeOf('garbage'), undefined);
  assert.equal(startTimeOf(readFileSync('/proc/self/stat', 'utf8')), startTimeOf(readFileSync(`/proc/${process.pid}/stat`, 'utf8')));
});

test('an owner is gone only when it is of this boot and no process with its pid and start time runs', () => {
  const alive = (pid: string) => (pid === '100' ? '5000' : undefined);
  assert.equal(ownerGone('boot-a:100:5000', 'boot-a', alive), false, 'running');
  assert.equal(ownerGone('boot-a:100:4999', 'boot-a', alive), true, 'the pid was reused by another process');
  assert.equal(ownerGone('boot-a:200:5000', 'boot-a', alive), true, 'no such pid');
  assert.equal(ownerGone('boot-b:200:5000', 'boot-a', alive), false, 'another machine (or boot): never called gone');
  assert.equal(ownerGone(undefined, 'boot-a', alive), false, 'no label: left alone');
  assert.equal(ownerGone('nonsense', 'boot-a', alive), false);
  assert.equal(ownerGoneHere(ownerOf()), false, 'this process is alive');
  assert.equal(ownerGoneHere(ownerOf().replace(/:(\d+):/, ':999999999:')), true, 'a pid that does not exist');
});

test('a swarm job is never drained (the Engine refuses a mode change); a replicated or global service is', () => {
  assert.equal(isJob({ spec: { Mode: { ReplicatedJob: { TotalCompletions: 1 } } } }), true);
  assert.equal(isJob({ spec: { Mode: { GlobalJob: {} } } }), true);
  assert.equal(isJob({ spec: { Mode: { Replicated: { Replicas: 2 } } } }), false);
  assert.equal(isJob({ spec: { Mode: { Global: {} } } }), false);
  assert.equal(isJob({ spec: {} }), false);
});

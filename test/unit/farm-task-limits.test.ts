import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { parseConfig } from '../../src/config/load.js';
import { COMPILE_LIMITS, compileConfineScript, CONFINE_FILE } from '../../src/farm/compile-confine.js';
import { compileGuardScript } from '../../src/farm/compile-guard.js';
import { farmServiceSpec, taskMemoryBytes } from '../../src/farm/service-spec.js';
import { loadFarmStack } from '../../src/farm/stack.js';
import { scratchDir } from '../support/cli.js';

// issue 33, item 12: every distccd task is limited, every compile confined
const farm = parseConfig('', 'iglu.yaml').farm;
const GiB = 2 ** 30;
type Limits = { MemoryBytes?: number; Pids?: number; NanoCPUs?: number };
const limitsOf = (spec: ReturnType<typeof farmServiceSpec>) => (spec.TaskTemplate as { Resources: { Limits: Limits } }).Resources.Limits;

test("a task's memory and pids are limited by default: three quarters of the host's memory in whole MiB, 2048 pids", async () => {
  const stack = await loadFarmStack(undefined);
  assert.deepEqual(limitsOf(farmServiceSpec(farm, 'sha256:abc', ['10.1.0.0/24'], stack, 24 * GiB)), { MemoryBytes: 18 * GiB, Pids: 2048 });
  assert.equal(taskMemoryBytes(1000 * 2 ** 20 + 3), 750 * 2 ** 20);
  const h = (mem: number) => farmServiceSpec(farm, 'sha256:abc', ['10.1.0.0/24'], stack, mem).Labels?.['iglu.spec'];
  assert.equal(h(24 * GiB), h(24 * GiB), 'the same host: the same spec, no update');
});

test("the stack's own limits win over the defaults: deploy.resources.limits.memory, pids_limit", async () => {
  const file = path.join(scratchDir('iglu-limits-'), 'farm.yaml');
  writeFileSync(file, 'services:\n  distccd:\n    pids_limit: 300\n    deploy:\n      resources:\n        limits: { cpus: "2", memory: 3g }\n');
  const stack = await loadFarmStack(file);
  assert.deepEqual(stack.resources.limits, { nanoCpus: 2e9, memoryBytes: 3 * GiB, pids: 300 });
  assert.deepEqual(limitsOf(farmServiceSpec(farm, 'sha256:abc', ['10.1.0.0/24'], stack, 24 * GiB)), { NanoCPUs: 2e9, MemoryBytes: 3 * GiB, Pids: 300 });
});

test('the task writes the confinement and the guard execs every compile through it, with one input', async () => {
  const spec = farmServiceSpec(farm, 'sha256:abc', ['10.1.0.0/24'], await loadFarmStack(undefined), 8 * GiB);
  const env = (spec.TaskTemplate as { ContainerSpec: { Env: string[] } }).ContainerSpec.Env;
  assert.ok(env.includes(`IGLU_CONFINE=${compileConfineScript()}`));
  const guard = compileGuardScript();
  assert.match(guard, new RegExp(`exec /usr/bin/perl ${CONFINE_FILE} \\$files -- "/usr/bin/\\$\\{0##\\*/\\}" "\\$@"`));
  assert.match(guard, /refuse "\$inputs inputs: a distributed compile has one"/);
  const script = compileConfineScript();
  assert.match(script, new RegExp(`9 => ${COMPILE_LIMITS.addressSpaceMiB * 2 ** 20}\\b`), 'RLIMIT_AS');
  // the script is perl that compiles (perl -c checks syntax, runs nothing)
  const dir = scratchDir('iglu-confine-');
  writeFileSync(path.join(dir, 'confine.pl'), script);
  const r = await execa('perl', ['-c', path.join(dir, 'confine.pl')], { reject: false });
  assert.equal(r.exitCode, 0, r.stderr);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { IgluError } from '../../src/errors.js';
import { sandboxArgv, type SandboxSpec } from '../../src/sandbox/argv.js';
import { limitHit, limitsFor, prlimitArgs } from '../../src/sandbox/limits.js';

test("limits: defaults, with a package's own entry over them", () => {
  const c = parseConfig('limits:\n  processes: 512\n  packages:\n    llvm: { wallSeconds: 28800, memoryMiB: 16384 }\n', 'iglu.yaml');
  assert.deepEqual(limitsFor(c.limits, 'zlib'), { wallSeconds: 14400, memoryMiB: 8192, processes: 512, tmpMiB: 4096, logMiB: 64 });
  assert.deepEqual(limitsFor(c.limits, 'llvm'), { wallSeconds: 28800, memoryMiB: 16384, processes: 512, tmpMiB: 4096, logMiB: 64 });
});

test('limits: a bad value names the key', () => {
  assert.throws(
    () => parseConfig('limits:\n  packages:\n    llvm: { wallSeconds: 0 }\n', 'iglu.yaml'),
    (e: unknown) => e instanceof IgluError && /limits\.packages\.llvm\.wallSeconds/.test(e.message),
  );
  assert.throws(
    () => parseConfig('limits:\n  memory: 1\n', 'iglu.yaml'),
    (e: unknown) => e instanceof IgluError && /memory/.test(e.message),
  );
});

test('the sandbox of a build gets its limits: prlimit before everything (inherited), and a sized /tmp', () => {
  const spec: SandboxSpec = { root: { dir: '/r' }, binds: [], argv: ['true'], env: {}, limits: { processes: 64, memoryMiB: 256, tmpMiB: 8 } };
  for (const asRoot of [true, false]) {
    const argv = sandboxArgv(spec, { asRoot, scripts: '/s' });
    assert.deepEqual(argv.slice(0, 4), ['prlimit', '--nproc=64:64', `--as=${256 * 1024 * 1024}:${256 * 1024 * 1024}`, '--']);
    const tmp = argv.indexOf('/tmp');
    assert.deepEqual(argv.slice(tmp - 3, tmp + 1), ['--size', String(8 * 1024 * 1024), '--tmpfs', '/tmp']);
  }
  const plain = sandboxArgv({ ...spec, limits: undefined }, { asRoot: true, scripts: '/s' });
  assert.equal(plain[0], 'unshare', 'no limits, no prlimit');
  assert.ok(!plain.includes('--size'));
  assert.deepEqual(prlimitArgs({ processes: 1, memoryMiB: 64 }), ['prlimit', '--nproc=1:1', `--as=${64 * 1024 * 1024}:${64 * 1024 * 1024}`, '--']);
});

test('limitHit reads which limit a failed build hit from its log', () => {
  const l = { wallSeconds: 3, memoryMiB: 256, processes: 64, tmpMiB: 8 };
  assert.match(limitHit("mksh: can't fork - try again: Resource temporarily unavailable", l) ?? '', /limits\.processes = 64/);
  assert.match(limitHit('dd: memory exhausted by input buffer of size 419430400 bytes', l) ?? '', /limits\.memoryMiB = 256/);
  assert.match(limitHit("terminate called after throwing an instance of 'std::bad_alloc'", l) ?? '', /limits\.memoryMiB/);
  assert.match(limitHit('dd: error writing /tmp/fill: No space left on device', l) ?? '', /limits\.tmpMiB = 8/);
  assert.equal(limitHit('cc: error: a.c: No such file or directory', l), undefined);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IgluError } from '../../src/errors.js';
import { judgeCompilers, parseCanaries } from '../../src/farm/verify.js';

const host = (ip: string, hostname: string) => ({ ip, limit: 2, nodeId: hostname, hostname, taskId: ip });
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const X = 'c'.repeat(64);

// what CANARY_SCRIPT prints for the client and three tasks: n3's clang makes other C
// objects, n4's task refused the connection
const OUTPUT = [
  `canary local c 0 ${A} `,
  `canary local c++ 0 ${B} `,
  `canary 10.0.0.2 c 0 ${A} `,
  `canary 10.0.0.2 c++ 0 ${B} `,
  `canary 10.0.0.3 c 0 ${X} `,
  `canary 10.0.0.3 c++ 0 ${B} `,
  'canary 10.0.0.4 c 100 - ',
  'canary 10.0.0.4 c++ 100 - ',
  'some other line',
].join('\n');

test('parseCanaries reads where, language, exit code, sha256 and the message', () => {
  const c = parseCanaries('canary 10.0.0.4 c++ 1 - error: unknown argument: -fnope\n');
  assert.deepEqual(c, [{ where: '10.0.0.4', lang: 'c++', exitCode: 1, message: 'error: unknown argument: -fnope' }]);
});

test("judgeCompilers keeps the tasks whose objects match the client's byte for byte and names why the others are refused", () => {
  const v = judgeCompilers([host('10.0.0.2', 'n2'), host('10.0.0.3', 'n3'), host('10.0.0.4', 'n4'), host('10.0.0.5', 'n5')], parseCanaries(OUTPUT));
  assert.deepEqual(
    v.accepted.map((h) => h.hostname),
    ['n2'],
  );
  assert.deepEqual(
    v.refused.map((r) => r.host.hostname),
    ['n3', 'n4', 'n5'],
  );
  assert.match(v.refused[0]!.reason, /^its clang made a different object than the client's \(sha256 cccccccccccc… vs aaaaaaaaaaaa…\)$/);
  assert.match(v.refused[1]!.reason, /its clang canary failed through distcc \(exit 100\); its clang\+\+ canary failed/);
  assert.match(v.refused[2]!.reason, /no clang canary ran on it/);
});

test('a client whose own canary fails is an error, not a farm of refused tasks', () => {
  assert.throws(
    () => judgeCompilers([host('10.0.0.2', 'n2')], parseCanaries(`canary local c 1 - error: broken\ncanary local c++ 0 ${B}\n`)),
    (e: unknown) => e instanceof IgluError && /cannot compile the c canary: exit 1 \(error: broken\)/.test(e.message),
  );
});

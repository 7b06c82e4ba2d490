import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addCounts, countCompiles, formatCounts, remoteFraction } from '../../src/farm/distcc-log.js';

// lines as distcc 3.4 writes them with DISTCC_VERBOSE=1 (recorded in the farm image)
const LOG = `distcc[13] compile from a.c to a.o
distcc[13] (dcc_strip_local_args) result: clang -O2 -c a.c -o a.o -target x86_64-pc-linux-gnu
distcc[13] cpp a.c on localhost completed ok
distcc[13] compile a.c on 10.214.1.2/2 completed ok
distcc[14] compile b.c on 10.214.1.3/2 completed ok
distcc[15] compile c.c on 10.214.1.2:3632/2 completed ok
distcc[16] compile (null) on localhost completed ok
distcc[17] Warning: failed to distribute ./conf.c to 10.214.1.2/2, running locally instead
distcc[17] ERROR: compile ./conf.c on 10.214.1.2/2 failed
distcc[17] ERROR: compile ./conf.c on localhost failed
distcc[18] compile d.S on localhost completed ok
`;

test('remote jobs per task address and per node, local ones, fallbacks; links are not compiles', () => {
  const nodes: Record<string, string> = { '10.214.1.2': 'n2', '10.214.1.3': 'n3' };
  const c = countCompiles(LOG, '', (ip) => nodes[ip] ?? ip);
  assert.deepEqual(c.remote, { '10.214.1.2': 2, '10.214.1.3': 1 });
  assert.deepEqual(c.byNode, { n2: 2, n3: 1 });
  assert.equal(c.local, 1, 'd.S ran locally; the failed fallback of conf.c is not a finished job');
  assert.equal(c.fellBack, 1);
  assert.equal(
    formatCounts(c, (ip) => nodes[ip]),
    '2 on 10.214.1.2 (n2), 1 on 10.214.1.3 (n3), 1 local (1 fell back)',
  );
  assert.equal(remoteFraction(c), 0.75);
});

test('counts add up across packages', () => {
  const a = countCompiles('distcc[1] compile a.c on 10.0.0.2/2 completed ok\n');
  const b = countCompiles('distcc[2] compile b.c on 10.0.0.2/2 completed ok\ndistcc[3] compile c.c on localhost completed ok\n');
  assert.deepEqual(addCounts(a, b), { remote: { '10.0.0.2': 2 }, byNode: { '10.0.0.2': 2 }, local: 1, fellBack: 0, bypassed: 0 });
  assert.equal(remoteFraction(countCompiles('')), 0);
});

// the wrapper's own log (chroot/target-bin/cc with IGLU_COMPILE_LOG) for the same build:
// a.c, b.c, c.c, conf.c and d.S through distcc, plus two compiles run without distcc and
// one more through distcc that left no line with a file name (cc -c -x c -, from stdin)
const WRAPPER =
  ['a.c', 'b.c', 'c.c', 'conf.c', 'd.S', 'stdin']
    .map(() => 'compile distcc')
    .concat(['compile -', 'compile -'])
    .join('\n') + '\n';

test("with the wrapper's count, remote + local + bypassed is every compile that ran", () => {
  const c = countCompiles(LOG, WRAPPER);
  const remote = Object.values(c.remote).reduce((a, b) => a + b, 0);
  assert.equal(remote, 3);
  assert.equal(c.local, 3, 'd.S, plus conf.c (its local try failed) and the stdin compile, which distcc names (null)');
  assert.equal(c.bypassed, 2);
  assert.equal(remote + c.local + (c.bypassed ?? 0), 8, "every line of the wrapper's log");
  assert.equal(formatCounts(c), '2 on 10.214.1.2, 1 on 10.214.1.3, 3 local (1 fell back), 2 bypassed distcc');
  assert.equal(remoteFraction(c), 3 / 8);
});

test('a build whose compiles all bypassed distcc is 0 % remote, not "no compiles"', () => {
  const c = countCompiles('', 'compile -\ncompile -\n');
  assert.deepEqual([c.local, c.bypassed, remoteFraction(c)], [0, 2, 0]);
  assert.equal(formatCounts(c), '0 local, 2 bypassed distcc');
});

test('compiles through the sandbox\'s socket count by the address after "@"', () => {
  const c = countCompiles(
    'distcc[2] compile a.c on @10.0.0.2/2,lzo completed ok\ndistcc[3] compile b.c on @10.0.0.3/1 failed\n',
    '',
    (ip) => `n${ip.slice(-1)}`,
  );
  assert.deepEqual(c.remote, { '10.0.0.2': 1, '10.0.0.3': 1 });
  assert.deepEqual(c.byNode, { n2: 1, n3: 1 });
});

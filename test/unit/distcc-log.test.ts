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
  const c = countCompiles(LOG, (ip) => nodes[ip] ?? ip);
  assert.deepEqual(c.remote, { '10.214.1.2': 2, '10.214.1.3': 1 });
  assert.deepEqual(c.byNode, { n2: 2, n3: 1 });
  assert.equal(c.local, 1, 'd.S ran locally; the failed fallback of conf.c is not a finished job');
  assert.equal(c.fellBack, 1);
  assert.equal(formatCounts(c, (ip) => nodes[ip]), '2 on 10.214.1.2 (n2), 1 on 10.214.1.3 (n3), 1 local (1 fell back)');
  assert.equal(remoteFraction(c), 0.75);
});

test('counts add up across packages', () => {
  const a = countCompiles('distcc[1] compile a.c on 10.0.0.2/2 completed ok\n');
  const b = countCompiles('distcc[2] compile b.c on 10.0.0.2/2 completed ok\ndistcc[3] compile c.c on localhost completed ok\n');
  assert.deepEqual(addCounts(a, b), { remote: { '10.0.0.2': 2 }, byNode: { '10.0.0.2': 2 }, local: 1, fellBack: 0 });
  assert.equal(remoteFraction(countCompiles('')), 0);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStatsOutput, parseStatsPage, promText, topTable, type TaskStats } from '../../src/farm/stats.js';
import { farmUseLine } from '../../src/farm/use.js';

// a stats page as distccd 3.4 serves it (recorded from the farm image, distccd --stats)
const PAGE = `HTTP/1.0 200 OK
Content-Type: text/plain
Connection: close

argv /distccd
<distccstats>
dcc_tcp_accept 14
dcc_rej_bad_req 1
dcc_rej_overload 0
dcc_compile_ok 9
dcc_compile_error 1
dcc_compile_timeout 0
dcc_cli_disconnect 0
dcc_other 0
dcc_longest_job a.c
dcc_max_kids 2
dcc_current_load 4
dcc_load1 1.26
dcc_load2 1.44
dcc_load3 1.08
dcc_free_space 67344 MB
</distccstats>
`;
const host = (ip: string, hostname: string) => ({ ip, limit: 2, nodeId: hostname, hostname, taskId: `t-${hostname}` });

test('a stats page: done, failed, rejected, and running = accepted minus every way a job ends', () => {
  const s = parseStatsPage(PAGE);
  assert.deepEqual(s, { accepted: 14, done: 9, failed: 1, rejected: 1, running: 3, load: [1.26, 1.44, 1.08], slots: 2 });
});

test("the reader's output: one entry per host; a host that did not answer, or answered something else, is down", () => {
  const text = `@@ 10.0.0.2\n${PAGE}\n@@ 10.0.0.3 error timed out\n@@ 10.0.0.5\nHTTP/1.0 404 Not Found\n`;
  const tasks = parseStatsOutput(text, [host('10.0.0.2', 'n1'), host('10.0.0.3', 'n2'), host('10.0.0.4', 'n3'), host('10.0.0.5', 'n4')]);
  assert.deepEqual(
    tasks.map((t) => [t.node, t.up, t.error ?? '', t.done]),
    [
      ['n1', true, '', 9],
      ['n2', false, 'timed out', 0],
      ['n3', false, 'no answer', 0],
      ['n4', false, 'not a distccd stats page', 0],
    ],
  );
});

test('Prometheus text: HELP and TYPE per metric, one labelled series per task that answered, up for all', () => {
  const tasks = parseStatsOutput(`@@ 10.0.0.2\n${PAGE}\n@@ 10.0.0.3 error refused\n`, [host('10.0.0.2', 'n1'), host('10.0.0.3', 'n2')]);
  const text = promText({ farm: 'f"x', at: '2026-11-21T00:00:00.000Z', tasks });
  assert.match(text, /^# HELP iglu_distccd_up .+\n# TYPE iglu_distccd_up gauge\n/);
  assert.match(text, /^iglu_distccd_up\{farm="f\\"x",node="n2",task="t-n2",ip="10\.0\.0\.3"\} 0$/m, 'quotes escaped; a silent task is down');
  assert.match(text, /^# TYPE iglu_distccd_jobs_done_total counter$/m);
  assert.match(text, /^iglu_distccd_jobs_done_total\{farm="f\\"x",node="n1",task="t-n1",ip="10\.0\.0\.2"\} 9$/m);
  assert.doesNotMatch(text, /jobs_done_total\{[^}]*node="n2"/, 'no made-up zeros for a task that did not answer');
  assert.ok(text.endsWith('\n'));
});

test('the top table: totals, then a row per task, an unreachable one with the reason', () => {
  const tasks = parseStatsOutput(`@@ 10.0.0.2\n${PAGE}\n@@ 10.0.0.3 error refused\n`, [host('10.0.0.2', 'n1'), host('10.0.0.3', 'n2')]);
  const table = topTable({ farm: 'f', at: '2026-11-21T12:34:56.000Z', tasks });
  assert.match(table, /^farm f at 12:34:56: 3 jobs running, 9 done, 1 failed\n/);
  assert.match(table, /^n1 +10\.0\.0\.2 +3\/2 +9 +1 +1 {2}1\.26 1\.44 1\.08$/m);
  assert.match(table, /^n2 +10\.0\.0\.3 +stats unreachable: refused$/m);
});

test('the farm use line: busy slots per node, compiles done since the baseline, silent tasks named', () => {
  const task = (node: string, taskId: string, running: number, slots: number, done: number, up = true): TaskStats => ({
    ip: `10.0.0.${taskId.length}`,
    node,
    taskId,
    up,
    accepted: 0,
    done,
    failed: 0,
    rejected: 0,
    running,
    load: [0, 0, 0],
    slots,
  });
  const before = [task('n1', 'a', 0, 2, 100), task('n2', 'b', 0, 2, 40)];
  // a running count above the slots (connections queued at distccd) shows as full, not more
  const now = [task('n1', 'a', 3, 2, 130), task('n2', 'b', 1, 2, 52), task('n3', 'c', 0, 0, 0, false)];
  assert.equal(farmUseLine(now, before), 'farm: 3/4 slots busy (n1 2/2, n2 1/2), 42 compiles done; no stats from n3');
  // one node: no breakdown; without a baseline the snapshot is its own; a task started since the baseline counts from 0
  assert.equal(farmUseLine([task('n1', 'a', 1, 2, 7)]), 'farm: 1/2 slots busy, 0 compiles done');
  assert.equal(farmUseLine([task('n1', 'a', 1, 2, 7), task('n1', 'd', 0, 2, 5)], [task('n1', 'a', 0, 2, 7)]), 'farm: 1/4 slots busy, 5 compiles done');
});

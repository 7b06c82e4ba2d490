import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { readJsonLines } from '../../src/docker/index.js';
import { IgluError } from '../../src/errors.js';
import { waitFor, type Clock } from '../../src/util/wait.js';

function fakeClock(): Clock & { slept: number } {
  let now = 0;
  const c = {
    slept: 0,
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
      c.slept += ms;
    },
  };
  return c;
}

test('waitFor returns the first defined value', async () => {
  let calls = 0;
  const v = await waitFor(async () => (++calls === 3 ? 'ok' : undefined), { timeoutMs: 10_000, what: 'x', hint: 'h', clock: fakeClock() });
  assert.equal(v, 'ok');
  assert.equal(calls, 3);
});

test('waitFor times out with the last state and the hint', async () => {
  const clock = fakeClock();
  await assert.rejects(
    waitFor(async () => undefined, { timeoutMs: 1000, intervalMs: 100, what: 'tasks to run', hint: 'look', lastState: () => '1/3 running', clock }),
    (e: unknown) => e instanceof IgluError && /timed out after 1 s waiting for tasks to run \(1\/3 running\)/.test(e.message) && e.hint === 'look',
  );
  assert.equal(clock.slept, 1000);
});

test('a JSON stream with an error line rejects even though the stream ended normally', async () => {
  const body = Readable.from(['{"stream":"Loaded image"}\n{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}\n']);
  await assert.rejects(readJsonLines(body, 'loading'), /loading failed: unexpected EOF/);
});

test('a JSON stream split across chunks is read line by line', async () => {
  const lines = await readJsonLines(Readable.from(['{"stat', 'us":"sha256:ab"}\n{"status":"done"}']), 'x');
  assert.deepEqual(
    lines.map((l) => l.status),
    ['sha256:ab', 'done'],
  );
});

test('a line that is not JSON is an error', async () => {
  await assert.rejects(readJsonLines(Readable.from(['<html>\n']), 'x'), /not JSON/);
});

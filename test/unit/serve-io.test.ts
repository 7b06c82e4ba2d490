import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { IgluError } from '../../src/errors.js';
import { checkBranches } from '../../src/serve/branches.js';
import { parseEvent } from '../../src/serve/client.js';
import { MAX_LINE, streamLog } from '../../src/serve/log-events.js';
import { tailOf } from '../../src/util/tail.js';

const scratch = () => mkdtempSync(path.join(tmpdir(), 'iglu-serve-io-'));

/** The events `streamLog` sends for `file` over real HTTP, from `from`, the task already ended. */
async function eventsOf(file: string, from = 0): Promise<ReturnType<typeof parseEvent>[]> {
  const server = createServer((req, res) => void streamLog(res, file, from, () => 'failed', new AbortController().signal));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { signal: AbortSignal.timeout(20_000) });
    return (await res.text())
      .split('\n\n')
      .filter(Boolean)
      .map(parseEvent)
      .filter((e) => e.event !== 'comment');
  } finally {
    server.close();
  }
}

test('the log as server-sent events: a line over 1 MiB is cut, and the lines after it, the last one without its newline too, still come', async () => {
  const file = path.join(scratch(), 'build.log');
  const huge = 'x'.repeat(3 * 1024 * 1024 + 17);
  const long = 'é'.repeat(40_000); // 80,000 bytes, two each
  writeFileSync(file, `first\n${huge}\nafter the huge line\n${long}\nlast, without a newline`);
  const events = await eventsOf(file);
  const lines = events.filter((e) => e.event === 'message').flatMap((e) => e.data.split('\n'));
  assert.equal(lines[0], 'first');
  assert.ok(lines.includes('after the huge line'), `the stream went on past the huge line: ${lines.map((l) => l.slice(0, 40)).join(' | ')}`);
  assert.equal(lines.at(-1), 'last, without a newline');
  assert.ok(
    lines.some((l) => /more bytes of this line left out/.test(l)),
    'the cut says so',
  );
  for (const l of lines) assert.ok(Buffer.byteLength(l) < MAX_LINE + 100, `a line of ${Buffer.byteLength(l)} bytes was sent`);
  assert.ok(!lines.join('').includes('\uFFFD'), 'no character cut in two');
  const end = events.at(-1)!;
  assert.equal(end.event, 'end');
  assert.equal(end.data, 'failed');
  assert.equal(Number(end.id), Buffer.byteLength(`first\n${huge}\nafter the huge line\n${long}\nlast, without a newline`));
  // resumed inside the huge line (Last-Event-ID), the lines after it come too
  const resumed = (await eventsOf(file, 1 << 20)).flatMap((e) => e.data.split('\n'));
  assert.ok(resumed.includes('after the huge line'));
});

test("an error's quoted log tail: each line cut to 300 characters, read from the end of a large log", async () => {
  const file = path.join(scratch(), 'pkg.log');
  writeFileSync(file, `${'y'.repeat(50 * 1024 * 1024)}\n${'z'.repeat(2 * 1024 * 1024)}\nmake: *** [all] Error 1\n`);
  const tail = await tailOf(file, 25);
  assert.match(tail, /make: \*\*\* \[all\] Error 1$/);
  for (const l of tail.split('\n')) assert.ok(l.length <= 301, `a quoted line of ${l.length} characters`);
});

test("serve.branches: a recipe tree of its own, never a system directory, / or one right under it, another user's or a world-writable one", async () => {
  const dir = scratch();
  const tree = path.join(dir, 'tree');
  mkdirSync(tree);
  symlinkSync('/etc', path.join(dir, 'etc-link'));
  const refused = async (branch: string, why: RegExp) =>
    assert.rejects(
      checkBranches({ b: branch }),
      (err: unknown) => err instanceof IgluError && err.exitCode === 2 && /^serve\.branches\.b: /.test(err.message) && why.test(err.message),
    );
  await refused('/etc', /inside \/etc, a system directory/);
  await refused('/etc/ssh', /inside \/etc/);
  await refused(path.join(dir, 'etc-link'), /\(\/etc\) is inside \/etc/);
  await refused('/proc/self', /inside \/proc/);
  await refused('/', /is \/ or a directory right under it/);
  await refused('/home', /right under it/);
  await refused(path.join(dir, 'missing'), /is not a directory/);
  await refused('/etc/passwd', /is not a directory/);
  chownSync(tree, 12345, 12345);
  await refused(tree, /owned by uid 12345/);
  chownSync(tree, process.getuid!(), process.getgid!());
  chmodSync(tree, 0o777);
  await refused(tree, /writable by every user/);
  chmodSync(tree, 0o755);
  assert.deepEqual(await checkBranches({ main: tree, rel: path.relative(process.cwd(), tree) }), { main: tree, rel: tree });
});

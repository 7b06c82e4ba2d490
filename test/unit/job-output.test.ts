import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { demuxed } from '../../src/docker/log-stream.js';
import { sandboxArgv, type SandboxSpec } from '../../src/sandbox/argv.js';
import { jobServiceSpec } from '../../src/spread/job-spec.js';
import { CappedLog } from '../../src/util/capped-log.js';

test('a log capped at 1 MiB keeps its first and last parts and says how much it left out; 8 MiB written', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'iglu-capped-')), 'log');
  const log = new CappedLog(file, 1024 * 1024, 'limits.logMiB = 1', 'w');
  const line = Buffer.from('0123456789abcdef'.repeat(4) + '\n');
  const LINES = Math.ceil((8 * 1024 * 1024) / line.length);
  let held = 0;
  await pipeline(
    Readable.from(
      (function* () {
        yield Buffer.from('FIRST\n');
        for (let i = 0; i < LINES; i++) {
          held = Math.max(held, log.heldBytes);
          yield line;
        }
        yield Buffer.from('iglu-job-usage: {"exit":0}\nLAST\n');
      })(),
    ),
    log,
  );
  const text = readFileSync(file, 'utf8');
  assert.ok(text.length < 1024 * 1024 + 200, `${text.length} bytes kept`);
  assert.ok(text.startsWith('FIRST\n'));
  assert.ok(text.endsWith('LAST\n'));
  assert.match(text, /\niglu: \d+ bytes of the output left out here \(limits\.logMiB = 1: its first and last parts are kept\)\n/);
  assert.equal(log.total, LINES * line.length + 6 + 32);
  assert.ok(held <= 512 * 1024 + 64 * 1024 + 2 * line.length, `at most half the cap and 64 KiB held in memory, not the whole: ${held}`);
  assert.match(log.lastText(), /iglu-job-usage: \{"exit":0\}\nLAST\n$/);
});

test("a multiplexed log answer split anywhere is demultiplexed: stdout and stderr's payloads in order", async () => {
  const frame = (stream: number, s: string) => {
    const head = Buffer.alloc(8);
    head[0] = stream;
    head.writeUInt32BE(Buffer.byteLength(s), 4);
    return Buffer.concat([head, Buffer.from(s)]);
  };
  const all = Buffer.concat([frame(1, 'hello '), frame(2, 'from stderr '), frame(1, 'and more\n')]);
  const chunks = [all.subarray(0, 3), all.subarray(3, 11), all.subarray(11, 20), all.subarray(20)];
  let got = '';
  await pipeline(Readable.from(chunks), demuxed(), new Writable({ write: (c: Buffer, _e, cb) => ((got += c.toString()), cb()) }));
  assert.equal(got, 'hello from stderr and more\n');
});

test("a job's node keeps two json-file logs of limits.logMiB", () => {
  const base = { farm: 'f', pkg: 'p', inputs: 'a'.repeat(64), attempt: 1, image: 'sha256:x', network: 'n', env: {}, cpus: 1 };
  const spec = jobServiceSpec({ ...base, limits: { memoryMiB: 256, processes: 64, tmpMiB: 8, logMiB: 1 } });
  assert.deepEqual(spec.TaskTemplate.LogDriver, { Name: 'json-file', Options: { 'max-size': '1m', 'max-file': '2' } });
  assert.deepEqual(jobServiceSpec(base).TaskTemplate.LogDriver?.Options, { 'max-size': '64m', 'max-file': '2' });
});

test('every sandbox refuses new user namespaces; on the host tools, prlimit runs inside it', () => {
  const spec: SandboxSpec = { root: 'host', binds: [], argv: ['mksh', '-c', 'true'], env: {}, limits: { processes: 32, memoryMiB: 256, tmpMiB: 16 } };
  for (const asRoot of [true, false]) {
    const argv = sandboxArgv(spec, { asRoot, scripts: '/s' });
    assert.notEqual(argv[0], 'prlimit', 'not outside: RLIMIT_NPROC would count every sandbox of the uid');
    assert.ok(argv.includes('--unshare-user') && argv.includes('--disable-userns'));
    assert.deepEqual(argv.slice(argv.indexOf('prlimit') - 1), [
      '--',
      'prlimit',
      '--nproc=32:32',
      `--as=${256 * 1024 * 1024}:${256 * 1024 * 1024}`,
      '--',
      'mksh',
      '-c',
      'true',
    ]);
  }
});

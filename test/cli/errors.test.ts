import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, iglu, scratchDir, writeConfig } from '../support/cli.js';

test('--help lists the commands with examples; exit 0', async () => {
  const r = await iglu(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /farm/);
  assert.match(r.stdout, /Examples:/);
  const up = await iglu(['farm', 'up', '--help']);
  assert.match(up.stdout, /--replicas/);
  assert.match(up.stdout, /Examples:/);
});

test('an unknown command or option is a usage error: exit 2', async () => {
  assert.equal((await iglu(['frobnicate'])).code, 2);
  assert.equal((await iglu(['farm', 'up', '--bogus'])).code, 2);
  assert.equal((await iglu(['farm', 'up', '--replicas', 'x'])).code, 2);
});

test('a malformed iglu.yaml: exit 1, file and line named, nothing else tried', async () => {
  const file = writeConfig('farm:\n  replicas: [1,\n');
  const r = await iglu(['--config', file, 'farm', 'status']);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${file}:`), r.stderr);
  assert.equal(r.stdout, '');
});

test('an unknown key in iglu.yaml names file, line and key', async () => {
  const file = writeConfig('farm:\n  name: ok\n  replica: 3\n');
  const r = await iglu(['--config', file, 'farm', 'up']);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${file}:3: unknown key "farm.replica"`), r.stderr);
});

test('a --config file that does not exist is an error', async () => {
  const r = await iglu(['--config', '/nonexistent/iglu.yaml', 'farm', 'status']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read config file \/nonexistent\/iglu.yaml/);
});

test('an unreachable engine: exit 1 with what to do (DOCKER_HOST honoured)', async () => {
  const r = await iglu(['farm', 'status'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Docker Engine not reachable at unix:\/\/\/nonexistent\/docker.sock/);
  assert.match(r.stderr, /hint: /);
});

test('doctor exits 1 when the engine is unreachable and says what to do', async () => {
  const r = await iglu(['doctor', '--json'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; ok: boolean; fix?: string }[] };
  assert.equal(report.ok, false);
  const docker = report.checks.find((c) => c.name === 'Docker Engine');
  assert.equal(docker?.ok, false);
  assert.match(docker?.fix ?? '', /docker\.io/);
});

test('--replicas 0 is refused before anything is contacted', async () => {
  const r = await iglu(['farm', 'up', '--replicas', '0'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--replicas <n>' argument '0' is invalid. must be from 1 to 1000/);
});

test('encrypted overlay refused on a kernel without INET_ESP, before anything is made', async (t) => {
  const { runningKernelConfig, hasFeature } = await import('../../src/host/kernel.js');
  if (hasFeature(await runningKernelConfig(), 'INET_ESP') !== false) return t.skip('this kernel has ESP (or hides its config)');
  const file = writeConfig('farm:\n  name: tenc\n  network: tenc-net\n  encrypted: true\n');
  const r = await iglu(['--config', file, 'farm', 'up']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /encrypted overlay needs IPsec ESP/);
  const { Engine, resolveEndpoint } = await import('../../src/docker/index.js');
  assert.equal(await new Engine(resolveEndpoint(undefined)).networks.get('tenc-net'), undefined);
});

test('output into a pipe closed early (iglu … | head) ends quietly, exit 0', async () => {
  // the reading end is closed before iglu writes: its first write gets EPIPE
  const child = spawn('node', [CLI, 'chroot', 'build', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
  assert.equal(code, 0);
});

test('iglu boot --image on a file that is not an iglunix.img says so and why, exit 1', async () => {
  const dir = scratchDir('iglu-notimg-');
  const small = path.join(dir, 'small.img');
  writeFileSync(small, 'not a disk image\n');
  const r = await iglu(['--workdir', dir, 'boot', '--image', small]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /small\.img is not an iglunix\.img: it is 17 bytes, smaller than the smallest iglunix\.img \(42 MiB\)/);
  assert.doesNotMatch(r.stderr, /--size/);
  const blank = path.join(dir, 'blank.img');
  writeFileSync(blank, Buffer.alloc(64 * 1024 * 1024));
  const b = await iglu(['--workdir', dir, 'boot', '--image', blank]);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /blank\.img is not an iglunix\.img: it has no GPT header/);
});

test('bad numbers and contradicting flags are usage errors (exit 2) that say the range or the conflict; nothing runs', async () => {
  const wd = scratchDir('iglu-badargs-');
  const args = ['--workdir', wd, '--docker-host', 'unix:///nonexistent.sock'];
  for (const v of ['1e10', 'Infinity', '0.001', '0x10', '-1', '']) {
    const r = await iglu([...args, 'farm', 'top', '--interval', v]);
    assert.equal(r.code, 2, `--interval ${v}: ${r.stderr}`);
    assert.match(r.stderr, /--interval.*(seconds|from 0\.1)/, v);
  }
  for (const v of ['99999999999999999999', '1e3', '0', '0x10', '1001']) {
    const r = await iglu([...args, 'farm', 'scale', v]);
    assert.equal(r.code, 2, `scale ${v}: ${r.stderr}`);
    assert.match(r.stderr, /1 to 1000|from 1 to 1000/, v);
  }
  const both = await iglu([...args, 'chroot', 'build', '--spread', '--no-spread']);
  assert.equal(both.code, 2, both.stderr);
  assert.match(both.stderr, /--spread and --no-spread contradict each other/);
  const farm = await iglu([...args, 'chroot', 'build', '--spread', '--farm']);
  assert.equal(farm.code, 2, farm.stderr);
  assert.match(farm.stderr, /--spread and --farm contradict each other/);
  for (const flags of [
    ['--spread', '--no-spread'],
    ['--spread', '--chroot-farm'],
  ]) {
    const r = await iglu([...args, 'build', ...flags]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--spread and ${flags[1]} contradict each other`));
  }
  const empty = await iglu([...args, 'chroot', 'enter', '--package', '']);
  assert.equal(empty.code, 2, empty.stderr);
  assert.match(empty.stderr, /--package.*must not be empty/);
});

test('sources import refuses what cannot be a source (a device, /proc, a pipe, a URL the broker could never serve) and pins nothing', async () => {
  const wd = scratchDir('iglu-badimport-');
  const fifo = path.join(wd, 'fifo');
  await execa('mkfifo', [fifo]);
  for (const [file, why] of [
    ['/dev/zero', /\/dev\/zero is not a regular file \(a device\)/],
    ['/proc/cpuinfo', /\/proc\/cpuinfo is empty/],
    [fifo, /is not a regular file \(a pipe\)/],
  ] as const) {
    const r = await iglu(['--workdir', wd, 'sources', 'import', file, '--url', 'https://example.org/x.tar.gz']);
    assert.equal(r.code, 1, `${file}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  const real = path.join(wd, 'real.tar.gz');
  writeFileSync(real, 'content\n');
  const spaced = await iglu(['--workdir', wd, 'sources', 'import', real, '--url', 'http://x/a b']);
  assert.equal(spaced.code, 1);
  assert.match(spaced.stderr, /"http:\/\/x\/a b" is not a URL a recipe can fetch: .*no spaces/);
  const list = await iglu(['--workdir', wd, 'sources', 'list', '--json']);
  assert.deepEqual((JSON.parse(list.stdout) as { sources: unknown[] }).sources, [], 'nothing was pinned');
});

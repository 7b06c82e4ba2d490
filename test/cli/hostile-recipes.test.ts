import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { execa } from 'execa';
import { CLI, iglu, igluJson } from '../support/cli.js';
import { canary, hostileTree } from '../support/hostile.js';

// Hostile recipes, without a build root: what reading a recipe and fetch() may reach. Each
// asserts on canaries outside the work directory, on exit codes and on messages.
const root = process.getuid?.() === 0;

test('a pkgname with ../ is refused by plan and fetch, naming the file; nothing outside the work directory goes', { skip: !root && 'needs root' }, async () => {
  const c = canary('pkgname');
  const wd = path.join(c.dir, 'work', 'evil');
  mkdirSync(wd, { recursive: true });
  writeFileSync(path.join(wd, 'mine'), 'user data\n');
  const t = hostileTree();
  const file = t.add('base/evil', `pkgname="../../evil"\npkgver=1\nfetch() { :; }\nbuild() { :; }\npackage() { :; }\n`);
  const plan = await iglu(['chroot', 'plan', '--tree', t.dir, '--workdir', wd]);
  assert.equal(plan.code, 1);
  assert.match(plan.stderr, new RegExp(`${file}: pkgname "\\.\\./\\.\\./evil" is not one path component`));
  const fetch = await iglu(['chroot', 'fetch', '--tree', t.dir, '--workdir', wd]);
  assert.equal(fetch.code, 1);
  assert.ok(c.intact() && existsSync(path.join(wd, 'mine')), 'the work directory and its siblings are intact');
});

test(
  'plan lists every bad name; a pkgname two recipes share is a warning naming both files (the first is used); 🦆 is a name',
  { skip: !root && 'needs root' },
  async () => {
    const t = hostileTree();
    const a = t.add('base/one', 'pkgname=same\npkgver=1\nfetch() { :; }\nbuild() { :; }\npackage() { :; }\n');
    const b = t.add('extra/two', 'pkgname=same\npkgver=2\nfetch() { :; }\nbuild() { :; }\npackage() { :; }\n');
    const bad = t.add('extra/ver', 'pkgname=ver\npkgver="1/../../x"\nfetch() { :; }\nbuild() { :; }\npackage() { :; }\n');
    const sub = t.add('extra/sub', 'pkgname=sub\npkgver=1\nsubpkgs="../x"\nfetch() { :; }\nbuild() { :; }\npackage() { :; }\n');
    t.add('extra/duck', 'pkgname=🦆\npkgver=1\nfetch() { :; }\nbuild() { :; }\npackage() { :; }\n');
    const r = await iglu(['chroot', 'plan', '--tree', t.dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /2 problems in the recipe tree/);
    assert.ok(r.stderr.includes(`warning: pkgname "same" is given by 2 recipes: ${a} and ${b}; iglu uses the first`), r.stderr);
    assert.ok(r.stderr.includes(`${bad}: pkgver "1/../../x" is not one path component`), r.stderr);
    assert.ok(r.stderr.includes(`${sub}: subpackage name "../x"`), r.stderr);
    rmSync(path.dirname(bad), { recursive: true });
    rmSync(path.dirname(sub), { recursive: true });
    const ok = await igluJson<{ order: string[] }>(['chroot', 'plan', '--tree', t.dir, 'same', '🦆']);
    assert.deepEqual(ok.order, ['same', '🦆']);
  },
);

test('reading a recipe: its top level sees only its own directory, read-only, with no network and no host root', { skip: !root && 'needs root' }, async () => {
  const c = canary('read');
  const t = hostileTree();
  // everything a top level might try: write the host, reach the network, climb out, chroot
  t.add(
    'base/reader',
    [
      'pkgname=reader',
      'pkgver=1',
      `touch ${c.made} 2>/dev/null; echo x > ${c.keep} 2>/dev/null; touch /proc/1/root${c.made} 2>/dev/null`,
      `touch ../../made 2>/dev/null; touch build.sh.new 2>/dev/null`,
      'ls /proc/1/root/ > /dev/null 2>&1; chroot / true 2>/dev/null',
      // top-level stdout is discarded: report through a variable the plan shows
      `[ "$(sed 1,2d /proc/net/dev | wc -l)" = 1 ] || pkgver=NETWORK`,
      `[ -e ${t.dir} ] && pkgver=TREE`,
      'fetch() { :; }',
      'build() { :; }',
      'package() { :; }',
      '',
    ].join('\n'),
  );
  const r = await iglu(['chroot', 'plan', '--tree', t.dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /reader 1-0/, 'only a loopback, and the rest of the tree is not there');
  assert.ok(c.intact(), 'the canary outside is untouched and nothing was made');
  assert.ok(!existsSync(path.join(t.dir, 'made')) && !existsSync(path.join(t.dir, 'base/reader/build.sh.new')), 'the tree is read-only');
});

test('a recipe whose top level never ends is stopped after 10 s and reported as timed out, naming the file', { skip: !root && 'needs root' }, async () => {
  const t = hostileTree();
  t.add('base/forever', ['pkgname=forever', 'pkgver=1', 'while :; do :; done', ''].join('\n'));
  const started = Date.now();
  const r = await iglu(['chroot', 'plan', '--tree', t.dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /base\/forever\/build\.sh: reading the recipe took over 10 s/);
  assert.doesNotMatch(r.stderr, /exit 143|does not source cleanly/);
  assert.ok(Date.now() - started < 30_000);
});

test(
  'fetch(): no network at all, not even by /usr/bin/curl; writes only its workspace; sources come through the cache and are recorded',
  { skip: !root && 'needs root' },
  async () => {
    const c = canary('fetch');
    const wd = mkdtempSync(path.join(tmpdir(), 'iglu-hostile-wd-'));
    const src = path.join(wd, 'payload.txt');
    writeFileSync(src, 'payload\n');
    await iglu(['sources', 'import', src, '--url', 'https://example.invalid/payload.txt', '--workdir', wd]);
    const t = hostileTree();
    t.add(
      'base/sneaky',
      [
        'pkgname=sneaky',
        'pkgver=1',
        'fetch() {',
        '  curl -fsSL https://example.invalid/payload.txt -o payload.txt',
        // a direct download around the shim must fail: there is no network in the sandbox
        '  if /usr/bin/curl -s -m 5 http://127.0.0.1:9/ >/dev/null 2>&1 || [ "$(sed 1,2d /proc/net/dev | wc -l)" != 1 ]; then echo NETWORK-REACHED; fi',
        `  touch ${c.made} 2>/dev/null || echo "host write refused"`,
        `  echo x > ${c.keep} 2>/dev/null || echo "host overwrite refused"`,
        '  echo "uid inside: $(id -u); host root reachable: $(ls /proc/1/root/etc 2>/dev/null | wc -l)"',
        '}',
        'build() { :; }',
        'package() { :; }',
        '',
      ].join('\n'),
    );
    const r = await iglu(['chroot', 'fetch', '--tree', t.dir, '--workdir', wd, '--offline', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const log = readFileSync(path.join(wd, 'logs/sneaky.log'), 'utf8');
    assert.ok(!log.includes('NETWORK-REACHED'), log);
    assert.match(log, /host write refused/);
    assert.match(log, /host overwrite refused/);
    assert.ok(c.intact());
    assert.equal(readFileSync(path.join(wd, 'build/sneaky/ws/layers/upper/base/sneaky/src/payload.txt'), 'utf8'), 'payload\n');
    const stamp = JSON.parse(readFileSync(path.join(wd, 'build/sneaky/fetched.json'), 'utf8')) as { sources: { url: string }[] };
    assert.deepEqual(
      stamp.sources.map((s) => s.url),
      ['https://example.invalid/payload.txt'],
    );
  },
);

test('fetch() offline: a URL missing from the cache fails through the broker, and nothing is downloaded', { skip: !root && 'needs root' }, async () => {
  const wd = mkdtempSync(path.join(tmpdir(), 'iglu-hostile-wd-'));
  const t = hostileTree();
  t.add('base/missing', 'pkgname=missing\npkgver=1\nfetch() { curl -fsSLO https://example.invalid/missing.tar.gz; }\nbuild() { :; }\npackage() { :; }\n');
  const r = await iglu(['chroot', 'fetch', '--tree', t.dir, '--workdir', wd, '--offline']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /source not in the cache, and iglu is offline: https:\/\/example.invalid\/missing.tar.gz/);
});

test('a SIGKILL of iglu during fetch() ends fetch() too, and a rerun starts cleanly', { skip: !root && 'needs root' }, async () => {
  const wd = mkdtempSync(path.join(tmpdir(), 'iglu-hostile-wd-'));
  const t = hostileTree();
  const marker = `iglu-slow-fetch-${process.pid}`;
  t.add(
    'base/slowfetch',
    `pkgname=slowfetch\npkgver=1\nfetch() { i=0; while [ $i -lt 2000 ]; do : > f.$i; i=$((i+1)); done; echo started; exec sleep 600 ${marker}; }\nbuild() { :; }\npackage() { :; }\n`,
  );
  const child = execa('node', [CLI, 'chroot', 'fetch', '--tree', t.dir, '--workdir', wd], { reject: false, stdin: 'ignore' });
  const log = path.join(wd, 'logs/slowfetch.log');
  for (let i = 0; i < 200 && !(existsSync(log) && readFileSync(log, 'utf8').includes('started')); i++) await sleep(100);
  assert.match(readFileSync(log, 'utf8'), /started/);
  child.kill('SIGKILL');
  await child;
  let left = '';
  for (let i = 0; i < 50; i++) {
    left = (await execa('pgrep', ['-f', marker], { reject: false })).stdout.trim();
    if (!left) break;
    await sleep(100);
  }
  assert.equal(left, '', 'fetch() died with iglu (bwrap --die-with-parent)');
  // the rerun replaces the half-fetched workspace (it used to fail: ENOTEMPTY … rmdir)
  t.add('base/slowfetch', 'pkgname=slowfetch\npkgver=1\nfetch() { echo quick > f; }\nbuild() { :; }\npackage() { :; }\n');
  const again = await iglu(['chroot', 'fetch', '--tree', t.dir, '--workdir', wd]);
  assert.equal(again.code, 0, again.stderr);
});

test("DEBUG=* never prints a join token, in iglu's namespaces or docker-modem's", async () => {
  const token = 'SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx';
  const script = `await import(${JSON.stringify(path.resolve(path.dirname(CLI), '../src/log.js'))}); const d = (await import('debug')).default; d('modem')('response %o', { JoinTokens: { Worker: ${JSON.stringify(token)} } }); d('iglu:farm')('join %s', ${JSON.stringify(token)});`;
  const r = await execa('node', ['--input-type=module', '-e', script], { env: { DEBUG: '*' }, cwd: path.resolve(path.dirname(CLI), '../..'), reject: false });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /SWMTKN-1-\*\*\*\*/);
  assert.ok(!r.stderr.includes('3pu6hszjas'), r.stderr);
});

test('a read-only work directory gets a message naming it, not an unexpected error', { skip: !root && 'needs root' }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-ro-'));
  await execa('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'iglu-ro', dir]);
  try {
    const r = await iglu(['sources', 'import', CLI, '--url', 'https://example.invalid/x', '--workdir', path.join(dir, 'wd')]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr, /unexpected error/);
    assert.match(r.stderr, /read-only file system/);
    assert.match(r.stderr, /hint: give --workdir a writable directory/);
  } finally {
    await execa('umount', [dir]);
  }
});

test("fetch() cannot reach the host's loopback through the source broker, in any spelling; nothing is pinned", { skip: !root && 'needs root' }, async () => {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.end('SECRET\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const wd = mkdtempSync(path.join(tmpdir(), 'iglu-hostile-wd-'));
    const t = hostileTree();
    t.add(
      'base/ssrf',
      [
        'pkgname=ssrf',
        'pkgver=1',
        `fetch() { curl -fsSL http://127.0.0.1:${port}/secret -o a || echo "refused a"; curl -fsSL 'http://[::ffff:127.0.0.1]:${port}/secret' -o b || echo "refused b"; curl -L http://localhost:${port}/secret -o c || echo "refused c"; }`,
        'build() { :; }',
        'package() { :; }',
        '',
      ].join('\n'),
    );
    const r = await iglu(['chroot', 'fetch', '--tree', t.dir, '--workdir', wd]);
    const log = readFileSync(path.join(wd, 'logs/ssrf.log'), 'utf8');
    assert.equal(hits, 0, `the loopback service was never asked:\n${log}`);
    assert.match(log, /refused to download http:\/\/127\.0\.0\.1:\d+\/secret: 127\.0\.0\.1 is a loopback address/);
    assert.match(log, /refused b/);
    assert.match(log, /refused c/);
    assert.equal(r.code, 0, 'the recipe went on past its failed downloads');
    const lock = path.join(wd, 'sources/sources.lock.json');
    assert.ok(!existsSync(lock) || !readFileSync(lock, 'utf8').includes(String(port)), 'nothing pinned');
  } finally {
    server.close();
  }
});

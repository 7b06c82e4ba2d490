import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { execa } from 'execa';
import { CLI, iglu, igluJson, scratchDir, writeConfig } from '../support/cli.js';
import { canary, hostileTree } from '../support/hostile.js';

// Hostile recipes in the build root (the farm image's filesystem; no farm needed): build()
// must not reach the host, must not leave anything for later packages, and a killed build
// must never be packaged half-done.
const config = writeConfig('toolchain:\n  packages: []\n');
const wd = scratchDir('iglu-hostile-build-');
const args = ['--config', config, '--workdir', wd];
const c = canary('build');
const marker = `iglu-hostile-sleep-${process.pid}`;
const t = hostileTree();
t.add('base/escape', [
  'pkgname=escape', 'pkgver=1',
  'fetch() { echo src > a; }',
  'build() {',
  `  echo x > /proc/1/root${c.made} 2>/dev/null && echo ESCAPED-THROUGH-PROC1`,
  `  ls /proc/1/root${c.dir} >/dev/null 2>&1 && echo HOST-ROOT-VISIBLE`,
  '  mkdir -p jail && chroot jail /bin/true 2>/dev/null && echo CHROOT-ALLOWED',
  `  touch ${c.made} 2>/dev/null && echo HOST-WRITE`,
  '  grep -E "^(CapEff|NoNewPrivs)" /proc/self/status',
  '  echo "uid map: $(cat /proc/self/uid_map)"',
  '}',
  'package() { mkdir -p "$pkgdir/usr/share"; echo ok > "$pkgdir/usr/share/escape"; }', '',
].join('\n'));
t.add('base/polluter', [
  'pkgname=polluter', 'pkgver=1',
  'fetch() { :; }',
  'build() { { echo polluted > /etc/iglu-polluted; } 2>/dev/null || echo "write to /etc refused"; echo polluted > /root/polluted; echo polluted > /tmp/polluted; }',
  'package() { mkdir -p "$pkgdir/usr/share"; echo ok > "$pkgdir/usr/share/polluter"; }', '',
].join('\n'));
t.add('base/victim', [
  'pkgname=victim', 'pkgver=1', 'mkdeps="polluter"',
  'fetch() { :; }',
  'build() { for f in /etc/iglu-polluted /root/polluted /tmp/polluted; do [ ! -e $f ] || { echo "saw $f"; exit 9; }; done; }',
  'package() { mkdir -p "$pkgdir/usr/share"; echo ok > "$pkgdir/usr/share/victim"; }', '',
].join('\n'));
t.add('base/half', [
  'pkgname=half', 'pkgver=1',
  'fetch() { echo src > a; }',
  `build() { if [ -e half ]; then echo REUSED-HALF-BUILT; else echo half > half; echo "fresh: started"; exec sh -c 'sleep 600; :' ${marker}; fi; }`,
  'package() { mkdir -p "$pkgdir"; cp half "$pkgdir/"; }', '',
].join('\n'));

// a package() that swaps its own out/ for a link to a host directory it can name
const secret = canary('secret');
t.add('base/secret', [
  'pkgname=secret', 'pkgver=d',
  'fetch() { :; }', 'build() { :; }',
  // (the same path made inside the sandbox's /tmp, so iglupkg's own writes through the link succeed there)
  `package() { mkdir -p ${secret.dir}/secret.d; rm -rf "$recipedir/out"; ln -s ${secret.dir} "$recipedir/out"; }`, '',
].join('\n'));
// a package that installs a setuid-root program (doas is setuid: fine in the image, never on the host)
t.add('base/rootsh', [
  'pkgname=rootsh', 'pkgver=1',
  'fetch() { :; }', 'build() { printf \'#!/bin/sh\\nexec /bin/sh\\n\' > rootsh; }',
  'package() { install -Dm4755 rootsh "$pkgdir/usr/bin/rootsh"; }', '',
].join('\n'));

type Built = { packages: { name: string; action: string }[] };

async function waitFor(file: string, re: RegExp, ms = 120_000): Promise<string> {
  for (let i = 0; i < ms / 200; i++) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (re.test(text)) return text;
    await sleep(200);
  }
  throw new Error(`${re} never appeared in ${file}`);
}

describe('hostile recipes in the build root', { timeout: 900_000, skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  before(async () => {
    await igluJson(['--config', config, 'image', 'build']);
    await igluJson([...args, 'chroot', 'prepare']);
  });

  test('build() cannot reach the host: no /proc/1/root, no chroot, no capabilities, root inside is not root outside', async () => {
    const r = await igluJson<Built>([...args, 'chroot', 'build', '--tree', t.dir, 'escape']);
    assert.deepEqual(r.packages.map((p) => p.action), ['built']);
    const log = readFileSync(path.join(wd, 'logs/escape.log'), 'utf8');
    for (const bad of ['ESCAPED-THROUGH-PROC1', 'HOST-ROOT-VISIBLE', 'CHROOT-ALLOWED', 'HOST-WRITE']) assert.ok(!log.includes(bad), `${bad}:\n${log}`);
    assert.match(log, /CapEff:\s+0000000000000000/);
    assert.match(log, /NoNewPrivs:\s+1/);
    // root inside maps to root of bwrap's own namespace (--disable-userns nests one), which is 99999 outside: the 'half' test sees it
    assert.match(log, /uid map:\s+0\s+0\s+1\n/);
    assert.ok(c.intact());
  });

  test('writes outside $pkgdir never reach the next package nor the build root', async () => {
    const r = await igluJson<Built>([...args, 'chroot', 'build', '--tree', t.dir, 'victim']);
    assert.deepEqual(Object.fromEntries(r.packages.map((p) => [p.name, p.action])), { polluter: 'built', victim: 'built' });
    assert.match(readFileSync(path.join(wd, 'logs/polluter.log'), 'utf8'), /write to \/etc refused/);
    assert.ok(!existsSync(path.join(wd, 'chroot/root/etc/iglu-polluted')));
  });

  test('a recipe that replaces out/ with a link to a host directory packs nothing of it', async () => {
    mkdirSync(path.join(secret.dir, 'secret.d'), { mode: 0o700 });
    writeFileSync(path.join(secret.dir, 'secret.d', 'key'), 'KEY\n', { mode: 0o600 });
    const r = await iglu([...args, 'chroot', 'build', '--tree', t.dir, 'secret']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the package directory out\/secret\.d is missing or is reached through a symbolic link/);
    assert.ok(!existsSync(path.join(wd, 'out/secret.d.tar.zst')), 'nothing was packed');
    assert.ok(!existsSync(path.join(wd, 'chroot/root/sysroot/key')));
  });

  test('a package\'s setuid-root program is installed into /sysroot without its setuid bit; the package keeps it; work trees are root\'s alone', async () => {
    const r = await igluJson<Built>([...args, 'chroot', 'build', '--tree', t.dir, 'rootsh']);
    assert.deepEqual(r.packages.map((p) => p.action), ['built']);
    const onHost = statSync(path.join(wd, 'chroot/root/sysroot/usr/bin/rootsh'));
    assert.equal(onHost.mode & 0o7777, 0o755);
    const listed = await execa('tar', ['--zstd', '-tvf', path.join(wd, 'out/rootsh.1.tar.zst'), './usr/bin/rootsh']);
    assert.match(listed.stdout, /^-rwsr-xr-x 0\/0/);
    for (const tree of ['build', 'out', 'chroot', 'disk']) assert.equal(statSync(path.join(wd, tree)).mode & 0o777, 0o700, tree);
    const other = await execa('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'cat', path.join(wd, 'out/rootsh.1.json')], { reject: false });
    assert.notEqual(other.exitCode, 0, 'another user cannot read the packages');
  });

  test('a build killed mid-way is never packaged half-done, with or without --rebuild', async () => {
    const log = path.join(wd, 'logs/half.log');
    for (const extra of [[], ['--rebuild']]) {
      rmSync(log, { force: true });
      const first = execa('node', [CLI, ...args, 'chroot', 'build', '--tree', t.dir, 'half'], { reject: false, stdin: 'ignore' });
      await waitFor(log, /fresh: started/);
      let pid = '';
      for (let i = 0; i < 50 && !(pid = (await execa('pgrep', ['-f', marker], { reject: false })).stdout.trim().split('\n')[0]!); i++) await sleep(100);
      assert.equal((await execa('ps', ['-o', 'uid=', '-p', pid])).stdout.trim(), '99999', "the build's processes are the sandbox uid on the host");
      first.kill('SIGKILL');
      await first;
      let left = '';
      for (let i = 0; i < 50 && (left = (await execa('pgrep', ['-f', marker], { reject: false })).stdout.trim()); i++) await sleep(100);
      assert.equal(left, '', 'the build died with iglu');
      rmSync(log, { force: true });
      const again = execa('node', [CLI, ...args, 'chroot', 'build', '--tree', t.dir, ...extra, 'half'], { reject: false, stdin: 'ignore' });
      const text = await waitFor(log, /fresh: started|REUSED-HALF-BUILT/);
      again.kill('SIGKILL');
      await again;
      assert.match(text, /fresh: started/, 'the rerun started from pristine sources');
      assert.doesNotMatch(text, /REUSED-HALF-BUILT/);
      assert.ok(!existsSync(path.join(wd, 'out/half.1.tar.zst')), 'nothing was packaged');
    }
    const after = await iglu([...args, 'chroot', 'plan', '--tree', t.dir]);
    assert.equal(after.code, 0, 'the work directory is usable after the kills');
  });
});

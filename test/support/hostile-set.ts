import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { ChrootBuildResult } from '../../src/phases/chroot-run.js';
import { canary, hostileTree } from './hostile.js';

/**
 * The hostile fixtures every runner must hold against (the build root here, --farm,
 * --spread, the toolchain phase's client container): a probe of the sandbox, a recipe that pollutes what the next
 * one sees, a setuid-root program in a package, a bounded fork bomb, a memory hog, a /tmp
 * filler, a build past its wall time, a daemon that outlives build(), a fork bomb and a
 * memory hog in fetch(), `unshare -U` in build() (refused), and 64 MiB of output (a spread
 * job keeps 1 MiB of it). `limitsYaml` is the iglu.yaml `limits` entry they need. `topDir`
 * holds a fork bomb and a memory hog at a recipe's top level, for `checkTop`.
 */
export function hostileSet(prefix = 'iglu-hostile-set-') {
  const marker = `iglu-hostile-set-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const c = canary('set');
  const t = hostileTree(prefix);
  const recipe = (
    name: string,
    build: string,
    pkg = 'mkdir -p "$pkgdir/usr/share"; echo ok > "$pkgdir/usr/share/' + name + '"',
    extra: string[] = [],
    fetch = ':',
  ) => ['pkgname=' + name, 'pkgver=1', ...extra, `fetch() { ${fetch}; }`, `build() { ${build}; }`, `package() { ${pkg}; }`, ''].join('\n');
  const forkBomb = `n=0; while [ $n -lt 300 ]; do sh -c 'sleep 60; :' ${marker} & n=$((n+1)); done; echo "forked all $n"`;
  const memoryHog = 'dd if=/dev/zero of=/dev/null bs=400M count=1';
  t.add(
    'base/hprobe',
    recipe(
      'hprobe',
      [
        `touch ${c.made} 2>/dev/null && echo HOST-WRITE`,
        'mkdir -p jail && chroot jail /bin/true 2>/dev/null && echo CHROOT-ALLOWED',
        'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status',
        'echo "interfaces: $(sed -n "3,\\$s/:.*//p" /proc/net/dev | tr -d " " | tr "\\n" " ")"',
        'for s in /var/run/docker.sock /run/docker.sock; do [ -e $s ] && echo "DOCKER-SOCKET $s"; done',
        'touch /usr/iglu-probe 2>/dev/null && echo ROOT-WRITABLE',
        '{ echo polluted > /etc/iglu-polluted; } 2>/dev/null && echo ETC-WRITABLE',
        'echo polluted > /tmp/polluted',
        // a user namespace of its own would give it every capability there
        'command -v unshare >/dev/null && { unshare -Ur true 2>/dev/null || unshare -U true 2>/dev/null && echo USERNS-ALLOWED || echo "userns refused"; }',
      ].join('; '),
    ),
  );
  t.add(
    'base/hvictim',
    recipe('hvictim', 'for f in /etc/iglu-polluted /tmp/polluted; do [ ! -e $f ] || { echo "saw $f"; exit 9; }; done', undefined, ['mkdeps="hprobe"']),
  );
  t.add('base/hrootsh', recipe('hrootsh', "printf '#!/bin/sh\\nexec /bin/sh\\n' > rootsh", 'install -Dm4755 rootsh "$pkgdir/usr/bin/hrootsh"'));
  t.add('base/hforkbomb', recipe('hforkbomb', forkBomb));
  t.add('base/hmemhog', recipe('hmemhog', memoryHog));
  t.add('base/hfetchbomb', recipe('hfetchbomb', ':', undefined, [], forkBomb));
  t.add('base/hfetchhog', recipe('hfetchhog', ':', undefined, [], memoryHog));
  // 64 MiB of output: a spread job's log is capped (limits.logMiB)
  t.add('base/hchatty', recipe('hchatty', 'yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -c 67108864; echo; echo chatty done'));
  t.add('base/htmpfill', recipe('htmpfill', 'dd if=/dev/zero of=/tmp/fill bs=1M count=16'));
  t.add('base/hsleeper', recipe('hsleeper', `sh -c 'sleep 600; :' ${marker}`));
  t.add('base/hdaemon', recipe('hdaemon', `( setsid sh -c 'sleep 600; :' ${marker} & ); echo daemon started`));
  const limitsYaml = [
    'limits:',
    '  packages:',
    '    hforkbomb: { processes: 64 }',
    '    hmemhog: { memoryMiB: 256 }',
    '    htmpfill: { tmpMiB: 8 }',
    '    hsleeper: { wallSeconds: 20 }',
    '    hfetchbomb: { processes: 64 }',
    '    hfetchhog: { memoryMiB: 256 }',
    '    hchatty: { logMiB: 1 }',
    '',
  ].join('\n');
  const names = ['hprobe', 'hvictim', 'hrootsh', 'hforkbomb', 'hmemhog', 'htmpfill', 'hsleeper', 'hdaemon', 'hfetchbomb', 'hfetchhog', 'hchatty'];
  // a recipe's top level, read on the host before any runner (for every plan and every bundle the service takes)
  const top = hostileTree(`${prefix}top-`);
  const topLevel = (name: string, code: string) => top.add(`base/${name}`, [`pkgname=${name}`, 'pkgver=1', code, 'fetch() { :; }', ''].join('\n'));
  const topFiles = { bomb: topLevel('htopbomb', forkBomb), hog: topLevel('htophog', memoryHog) };

  /**
   * Checks a `chroot build` or `toolchain build` with `--json --keep-going` of every fixture (`r`, its exit code and
   * stdout) in work directory `wd` by `runner` (for messages): what must hold whatever the runner.
   */
  async function check(r: { code: number; stdout: string; stderr: string }, wd: string, runner: string): Promise<void> {
    assert.equal(r.code, 1, `${runner}: ${r.stderr}`);
    const res = JSON.parse(r.stdout) as { packages: Pick<ChrootBuildResult['packages'][number], 'name' | 'action' | 'error'>[] };
    const of = (name: string) => res.packages.find((p) => p.name === name);
    for (const name of ['hprobe', 'hvictim', 'hrootsh', 'hdaemon', 'hchatty'])
      assert.equal(of(name)?.action, 'built', `${runner}: ${name}: ${of(name)?.error ?? ''}\n${r.stderr}`);
    const log = readFileSync(path.join(wd, 'logs/hprobe.log'), 'utf8');
    for (const bad of ['HOST-WRITE', 'CHROOT-ALLOWED', 'DOCKER-SOCKET', 'ROOT-WRITABLE', 'ETC-WRITABLE'])
      assert.ok(!log.includes(bad), `${runner}: ${bad}:\n${log}`);
    assert.match(log, /CapEff:\s+0000000000000000/, log);
    assert.match(log, /NoNewPrivs:\s+1/, log);
    assert.match(log, /interfaces: lo \n/, log);
    assert.match(log, /userns refused/, log);
    assert.ok(!log.includes('USERNS-ALLOWED'), `${runner}: unshare -U worked:\n${log}`);
    assert.ok(c.intact(), 'the canary outside the work directory is untouched');
    const installed = path.join(wd, 'chroot/root/sysroot/usr/bin/hrootsh');
    if (existsSync(installed)) assert.equal(statSync(installed).mode & 0o7000, 0, 'installed on the host without its setuid bit');
    const listed = await execa('tar', ['--zstd', '-tvf', path.join(wd, 'out/hrootsh.1.tar.zst'), './usr/bin/hrootsh']);
    assert.match(listed.stdout, /^-rwsr-xr-x 0\/0/, 'the package keeps it');
    const error = (name: string) => of(name)?.error ?? '';
    assert.match(error('hforkbomb'), /hit a limit: too many processes \(limits\.processes = 64\)/, r.stderr);
    assert.match(error('hmemhog'), /hit a limit: out of memory \(limits\.memoryMiB = 256 per process\)/, r.stderr);
    assert.match(error('htmpfill'), /hit a limit: .*limits\.tmpMiB = 8/, r.stderr);
    assert.match(error('hsleeper'), /timed out after 20 s \(limits\.wallSeconds = 20\)/, r.stderr);
    assert.match(error('hfetchbomb'), /fetch failed .*hit a limit: too many processes \(limits\.processes = 64\)/, r.stderr);
    assert.match(error('hfetchhog'), /fetch failed .*hit a limit: out of memory \(limits\.memoryMiB = 256 per process\)/, r.stderr);
    const chatty = readFileSync(path.join(wd, 'logs/hchatty.log'), 'utf8');
    assert.match(chatty, /chatty done\n/, 'the end of the output is kept');
    if (runner === '--spread') {
      // its node kept two files of 1 MiB (json, so less of the output), iglu at most 1 MiB of what it got
      assert.ok(chatty.length < 1024 * 1024 + 4096, `${chatty.length} bytes kept`);
      assert.match(
        chatty,
        /iglu: (\d+ bytes of the output left out here|the job printed at least \d+ bytes; its node kept the last \d+) \(.*limits\.logMiB = 1/,
      );
    }
    let left = '';
    for (let i = 0; i < 50 && (left = (await execa('pgrep', ['-af', marker], { reject: false })).stdout.trim()); i++)
      await new Promise((res) => setTimeout(res, 200));
    assert.equal(left, '', 'nothing a recipe started is still running');
  }

  /** Checks `chroot plan` (or any reading) of the top-level tree `topDir`: each recipe refused, naming its file and the limit. */
  async function checkTop(r: { code: number; stderr: string }): Promise<void> {
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`${topFiles.bomb}: reading the recipe hit a limit: too many processes (a recipe's top level: processes = 32)`), r.stderr);
    assert.ok(
      r.stderr.includes(`${topFiles.hog}: reading the recipe hit a limit: out of memory (a recipe's top level: memoryMiB = 256 per process)`),
      r.stderr,
    );
    let left = '';
    for (let i = 0; i < 50 && (left = (await execa('pgrep', ['-af', marker], { reject: false })).stdout.trim()); i++)
      await new Promise((res) => setTimeout(res, 200));
    assert.equal(left, '', 'nothing the top level started is still running');
  }

  return { dir: t.dir, names, limitsYaml, check, topDir: top.dir, checkTop };
}

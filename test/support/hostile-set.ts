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
 * filler, a build past its wall time and a daemon that outlives build(). `limitsYaml` is
 * the iglu.yaml `limits` entry they need.
 */
export function hostileSet(prefix = 'iglu-hostile-set-') {
  const marker = `iglu-hostile-set-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const c = canary('set');
  const t = hostileTree(prefix);
  const recipe = (name: string, build: string, pkg = 'mkdir -p "$pkgdir/usr/share"; echo ok > "$pkgdir/usr/share/' + name + '"', extra: string[] = []) =>
    ['pkgname=' + name, 'pkgver=1', ...extra, 'fetch() { :; }', `build() { ${build}; }`, `package() { ${pkg}; }`, ''].join('\n');
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
      ].join('; '),
    ),
  );
  t.add(
    'base/hvictim',
    recipe('hvictim', 'for f in /etc/iglu-polluted /tmp/polluted; do [ ! -e $f ] || { echo "saw $f"; exit 9; }; done', undefined, ['mkdeps="hprobe"']),
  );
  t.add('base/hrootsh', recipe('hrootsh', "printf '#!/bin/sh\\nexec /bin/sh\\n' > rootsh", 'install -Dm4755 rootsh "$pkgdir/usr/bin/hrootsh"'));
  t.add('base/hforkbomb', recipe('hforkbomb', `n=0; while [ $n -lt 300 ]; do sh -c 'sleep 60; :' ${marker} & n=$((n+1)); done; echo "forked all $n"`));
  t.add('base/hmemhog', recipe('hmemhog', 'dd if=/dev/zero of=/dev/null bs=400M count=1'));
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
    '',
  ].join('\n');
  const names = ['hprobe', 'hvictim', 'hrootsh', 'hforkbomb', 'hmemhog', 'htmpfill', 'hsleeper', 'hdaemon'];

  /**
   * Checks a `chroot build` or `toolchain build` with `--json --keep-going` of every fixture (`r`, its exit code and
   * stdout) in work directory `wd` by `runner` (for messages): what must hold whatever the runner.
   */
  async function check(r: { code: number; stdout: string; stderr: string }, wd: string, runner: string): Promise<void> {
    assert.equal(r.code, 1, `${runner}: ${r.stderr}`);
    const res = JSON.parse(r.stdout) as { packages: Pick<ChrootBuildResult['packages'][number], 'name' | 'action' | 'error'>[] };
    const of = (name: string) => res.packages.find((p) => p.name === name);
    for (const name of ['hprobe', 'hvictim', 'hrootsh', 'hdaemon'])
      assert.equal(of(name)?.action, 'built', `${runner}: ${name}: ${of(name)?.error ?? ''}\n${r.stderr}`);
    const log = readFileSync(path.join(wd, 'logs/hprobe.log'), 'utf8');
    for (const bad of ['HOST-WRITE', 'CHROOT-ALLOWED', 'DOCKER-SOCKET', 'ROOT-WRITABLE', 'ETC-WRITABLE'])
      assert.ok(!log.includes(bad), `${runner}: ${bad}:\n${log}`);
    assert.match(log, /CapEff:\s+0000000000000000/, log);
    assert.match(log, /NoNewPrivs:\s+1/, log);
    assert.match(log, /interfaces: lo \n/, log);
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
    let left = '';
    for (let i = 0; i < 50 && (left = (await execa('pgrep', ['-af', marker], { reject: false })).stdout.trim()); i++)
      await new Promise((res) => setTimeout(res, 200));
    assert.equal(left, '', 'nothing a recipe started is still running');
  }

  return { dir: t.dir, names, limitsYaml, check };
}

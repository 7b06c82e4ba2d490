import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { execa } from 'execa';
import type { ChrootBuildResult } from '../../src/phases/chroot-run.js';
import { iglu, igluJson, scratchDir, writeConfig } from '../support/cli.js';
import { hostileTree } from '../support/hostile.js';
import { hostileSet } from '../support/hostile-set.js';

// The limits of a package's build (iglu.yaml `limits`, per package) in the build root: a
// bounded fork bomb, a memory hog, a /tmp filler, a build past its wall time and a daemon
// that outlives build(). Each fails with the limit and its value named, and nothing the
// recipe started is still running once its build has ended. A fork bomb and a memory hog at
// a recipe's top level fail reading it, on the host before any runner takes the build, so
// this is their one check; the rest of the hostile set runs in every runner (chroot suite).
const marker = `iglu-limits-${process.pid}`;
const config = writeConfig(
  [
    'toolchain:',
    '  packages: []',
    'limits:',
    '  packages:',
    '    forkbomb: { processes: 64 }',
    '    memhog: { memoryMiB: 256 }',
    '    tmpfill: { tmpMiB: 8 }',
    '    sleeper: { wallSeconds: 3 }',
    '',
  ].join('\n'),
);
const wd = scratchDir('iglu-limits-');
const hostile = hostileSet();
const args = ['--config', config, '--workdir', wd];
const t = hostileTree();
const recipe = (name: string, build: string, pkg = ':') => ['pkgname=' + name, 'pkgver=1', 'fetch() { :; }', `build() { ${build}; }`, `package() { ${pkg}; }`, ''].join('\n');
t.add('base/forkbomb', recipe('forkbomb', `echo "processes at most $(ulimit -u)"; n=0; while [ $n -lt 300 ]; do sh -c 'sleep 60; :' ${marker} & n=$((n+1)); done; echo "forked all $n"`));
t.add('base/memhog', recipe('memhog', 'dd if=/dev/zero of=/dev/null bs=400M count=1'));
t.add('base/tmpfill', recipe('tmpfill', 'dd if=/dev/zero of=/tmp/fill bs=1M count=16'));
t.add('base/sleeper', recipe('sleeper', `sh -c 'sleep 600; :' ${marker}`));
t.add('base/daemon', recipe('daemon', `( setsid sh -c 'sleep 600; :' ${marker} & ); echo daemon started`, 'mkdir -p "$pkgdir/usr/share"; echo ok > "$pkgdir/usr/share/daemon"'));

/** The host's processes that carry the marker (every sleep a recipe started). */
async function leftovers(): Promise<string> {
  return (await execa('pgrep', ['-af', marker], { reject: false })).stdout.trim();
}

describe('the limits of a build in the build root', { timeout: 600_000, skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  before(async () => {
    await igluJson(['--config', config, 'image', 'build']);
    await igluJson([...args, 'chroot', 'prepare']);
  });

  test('a fork bomb, a memory hog, a /tmp filler and a build past its time fail naming the limit and its value; the host keeps nothing of them', async () => {
    const started = Date.now();
    const r = await iglu([...args, 'chroot', 'build', '--json', '--keep-going', '--tree', t.dir, 'forkbomb', 'memhog', 'tmpfill', 'sleeper']);
    assert.equal(r.code, 1, r.stderr);
    const res = JSON.parse(r.stdout) as ChrootBuildResult;
    const error = (name: string) => res.packages.find((p) => p.name === name)?.error ?? '';
    assert.match(error('forkbomb'), /hit a limit: too many processes \(limits\.processes = 64\)/, r.stderr);
    assert.match(error('memhog'), /hit a limit: out of memory \(limits\.memoryMiB = 256 per process\)/, r.stderr);
    assert.match(error('tmpfill'), /hit a limit: .*limits\.tmpMiB = 8/, r.stderr);
    assert.match(error('sleeper'), /timed out after 3 s \(limits\.wallSeconds = 3\)/, r.stderr);
    assert.ok(Date.now() - started < 120_000, 'the build past its time was killed at once');
    assert.equal(await leftovers(), '', 'nothing a recipe started is still running');
  });

  test("a fork bomb and a memory hog at a recipe's top level fail reading, naming the file and the limit", async () => {
    // read on the host before any runner takes the build: the one check for every runner
    await hostile.checkTop(await iglu([...args, 'chroot', 'plan', '--tree', hostile.topDir]));
  });

  test('a daemon started by build() does not outlive it; the package builds', async () => {
    const r = await igluJson<ChrootBuildResult>([...args, 'chroot', 'build', '--tree', t.dir, 'daemon']);
    assert.deepEqual(
      r.packages.map((p) => [p.name, p.action]),
      [['daemon', 'built']],
    );
    assert.equal(await leftovers(), '', 'the daemon died with its build');
  });
});

import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { mountPoints, mountsUnder } from '../../src/util/mountinfo.js';
import { Engine, resolveEndpoint } from '../../src/docker/index.js';
import type { PackageManifest } from '../../src/packages/manifest.js';
import type { BuildResult } from '../../src/phases/main-job.js';
import { iglu, scratchDir, uniqueName, writeConfig } from '../support/cli.js';

// The README's main-job command, as a new user runs it: scripts/run.sh (setup, then
// `iglu build`) on a fresh work directory, from the farm to a booted Iglunix; then again
// with nothing changed. Its own farm name keeps it apart from a farm already on the engine.
const REPO = path.resolve(import.meta.dirname, '../../..');
const engine = new Engine(resolveEndpoint(undefined));
const farm = uniqueName('e2e');
// oneNode: distcc — the toolchain's compiles go through the farm even on one machine (the default compiles here)
const config = writeConfig(`farm:\n  name: ${farm}\n  network: ${farm}-net\n  readyTimeout: 90\n  oneNode: distcc\n`);
const workdir = scratchDir('iglu-e2e-');
const args = ['--config', config, '--workdir', workdir];
const BOOT_LINE = /IGLUNIX BOOT OK: kernel=6\.1\.176 libc=musl-1\.2\.3 shell=mksh-R59 smoke=8 passed/;
const SMOKE_CHECKS = ['os-release', 'loader', 'dynamic', 'mksh', 'toybox', 'busybox', 'zstd', 'users'];
const USERLAND = ['busybox', 'iglunix', 'mksh', 'toybox', 'zlib', 'zstd'];
let coldImage = '';
let swarmBefore = 'inactive';

const qemuRunning = async () => (await execa('pgrep', ['-f', 'qemu-system-x86_64'], { reject: false })).stdout.trim();

describe('the main job: scripts/run.sh to a booted Iglunix', { timeout: 2_400_000 }, () => {
  before(async () => {
    swarmBefore = (await engine.info()).swarm.state;
  });

  after(async () => {
    await iglu([...args, 'farm', 'down', '--purge', ...(swarmBefore === 'inactive' ? ['--leave'] : [])]); // --purge: the package store's volume too
  });

  test("cold: every phase runs and the image boots to its init line, the guest's smoke test passed", async (t) => {
    const r = await execa(path.join(REPO, 'scripts/run.sh'), [...args, '--json'], { cwd: REPO, reject: false, stdin: 'ignore' });
    assert.equal(r.exitCode, 0, String(r.stderr).slice(-3000));
    const res = JSON.parse(String(r.stdout)) as BuildResult;
    assert.equal(res.boot.status, 'booted');
    assert.match(res.boot.line ?? '', BOOT_LINE);
    assert.equal(res.boot.firmware, 'efi');
    const built = res.packages
      .filter((p) => p.action === 'built')
      .map((p) => p.name)
      .sort();
    assert.deepEqual(built, ['busybox', 'compiler-rt', 'iglunix', 'libcxx', 'linux', 'mksh', 'musl', 'musl-headers', 'toybox', 'zlib', 'zstd']);
    const console = readFileSync(path.join(workdir, 'logs/boot.log'), 'utf8');
    for (const check of SMOKE_CHECKS) assert.match(console, new RegExp(`smoke: ok ${check}\\b`), `smoke check ${check}`);
    // every program is dynamic against musl: musl's loader, libraries the image has
    for (const name of USERLAND) {
      const m = JSON.parse(
        readFileSync(
          path.join(
            workdir,
            'out',
            readdirSync(path.join(workdir, 'out')).find((f) => f.startsWith(`${name}.`) && f.endsWith('.json'))!,
          ),
          'utf8',
        ),
      ) as PackageManifest;
      for (const b of (m.binaries ?? []).filter((x) => !x.soname && !x.shared))
        assert.equal(b.interpreter, '/lib/ld-musl-x86_64.so.1', `${name}: ${b.path} is dynamic against musl`);
    }
    coldImage = res.image.sha256;
    // the same bytes on every machine: compare with another machine's run of the same commit
    t.diagnostic(`iglunix.img sha256 ${coldImage}`);
    const remote = Object.values(res.compiles.toolchain.remote).reduce((a, b) => a + b, 0);
    assert.ok(remote > 1000, `musl's compiles went to the farm (${remote} remote)`);
    assert.match(readFileSync(path.join(workdir, 'logs/boot.log'), 'utf8'), /Linux version 6\.1\.176/);
    assert.equal((await execa('sha256sum', [res.image.file])).stdout.split(' ')[0], res.image.sha256);
    assert.deepEqual(mountsUnder(mountPoints(readFileSync('/proc/self/mountinfo', 'utf8')), workdir), []);
    assert.equal(await qemuRunning(), '', 'no qemu is left');
  });

  test('warm: nothing is rebuilt, the same image boots again', async () => {
    const before = JSON.parse(readFileSync(path.join(workdir, 'out/linux.6.1.176.json'), 'utf8')) as { tarball: { sha256: string } };
    const r = await iglu([...args, 'build', '--json']);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const res = JSON.parse(r.stdout) as BuildResult;
    assert.deepEqual(
      res.packages.filter((p) => p.action === 'built'),
      [],
    );
    assert.match(res.boot.line ?? '', BOOT_LINE);
    const afterRun = JSON.parse(readFileSync(path.join(workdir, 'out/linux.6.1.176.json'), 'utf8')) as { tarball: { sha256: string } };
    assert.equal(afterRun.tarball.sha256, before.tarball.sha256);
    assert.equal(res.image.sha256, coldImage);
  });

  test('the userland rebuilt from scratch gives a bit-identical image', async () => {
    const rebuilt = await iglu([...args, 'chroot', 'build', '--offline', '--rebuild', ...USERLAND, '--json']);
    assert.equal(rebuilt.code, 0, rebuilt.stderr.slice(-3000));
    assert.deepEqual(
      (JSON.parse(rebuilt.stdout) as { packages: { name: string; action: string }[] }).packages
        .filter((p) => p.action === 'built')
        .map((p) => p.name)
        .sort(),
      USERLAND,
    );
    const img = await iglu([...args, 'image', '--json']);
    assert.equal(img.code, 0, img.stderr);
    assert.equal((JSON.parse(img.stdout) as { sha256: string }).sha256, coldImage);
  });

  test('the direct kernel boot of the same image', async () => {
    const r = await iglu([...args, 'boot', '--firmware', 'direct', '--json']);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match((JSON.parse(r.stdout) as { line: string }).line, BOOT_LINE);
  });

  test('a boot that cannot succeed: the timeout ends qemu, the console tail is shown, exit 1', async () => {
    const r = await iglu([...args, 'boot', '--expect', 'A LINE INIT NEVER PRINTS', '--timeout', '60']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /did not boot: the guest powered off without printing "A LINE INIT NEVER PRINTS"/);
    assert.match(r.stderr, /IGLUNIX BOOT OK/);
    assert.equal(await qemuRunning(), '');
  });

  test('a smoke check that fails in the guest is a failed boot naming the check', async () => {
    const tree = scratchDir('iglu-e2e-tree-');
    cpSync(path.join(REPO, 'tree'), tree, { recursive: true });
    writeFileSync(path.join(tree, 'base/iglunix/os-release'), 'NAME="Not Iglunix"\nID=other\n');
    assert.equal((await iglu([...args, 'chroot', 'build', '--offline', '--tree', tree, 'iglunix'])).code, 0);
    const out = path.join(workdir, 'failing.img');
    assert.equal((await iglu([...args, 'image', '--out', out])).code, 0);
    const r = await iglu([...args, 'boot', '--image', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /did not boot: the guest's checks failed \(IGLUNIX BOOT FAILED: smoke test: os-release\)/);
    assert.match(r.stderr, /smoke: FAIL os-release/);
    assert.equal(await qemuRunning(), '');
  });
});

import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import type { ChrootPackage } from '../../src/phases/chroot.js';
import type { ToolchainResult } from '../../src/phases/toolchain.js';
import { mountPoints, mountsUnder } from '../../src/util/mountinfo.js';
import { isRunning } from '../../src/chroot/process.js';
import type { ChrootState } from '../../src/chroot/state.js';
import { Engine, resolveEndpoint } from '../../src/docker/index.js';
import { LABEL } from '../../src/labels.js';
import { CLI, iglu, igluJson, scratchDir, uniqueName, writeConfig } from '../support/cli.js';
import { treeHash } from '../support/hostile.js';
import { hostileSet } from '../support/hostile-set.js';

// The chroot phase on real parts: musl from the toolchain phase on a real farm, then
// busybox, mksh and zlib from their pristine tarballs (seeded offline from Debian's source
// archive) built inside the build root; fixture recipes for rebuilds and failures; SIGINT,
// SIGKILL and a second iglu in the middle of a build.
const engine = new Engine(resolveEndpoint(undefined));
const farm = uniqueName('ch');
const hostile = hostileSet();
// oneNode: distcc — --farm compiles on the tasks even on one machine (the default compiles here)
const farmYaml = `farm:\n  name: ${farm}\n  network: ${farm}-net\n  readyTimeout: 90\n`;
// chroot.buildEnv: bmake from Debian's bmake in the farm image, for the BSD make fixture
const envYaml = 'chroot:\n  buildEnv:\n    bmake: bmake\n';
const config = writeConfig(`${farmYaml}  oneNode: distcc\n${envYaml}${hostile.limitsYaml}`);
const hereConfig = writeConfig(farmYaml + envYaml);
const noEnvConfig = writeConfig(farmYaml);
const root = scratchDir('iglu-chroot-');
const args = ['--config', config, '--workdir', root];
const tree = scratchDir('iglu-chroot-tree-');
cpSync(path.resolve(import.meta.dirname, '../../../test/fixtures/chroot-tree'), tree, { recursive: true });
const sysroot = path.join(root, 'chroot/root/sysroot');
let swarmBefore = 'inactive';
let toolchain: ToolchainResult;

type BuildResult = { mode: string; order: string[]; packages: ChrootPackage[] };
const state = (): ChrootState => JSON.parse(readFileSync(path.join(root, 'chroot/state.json'), 'utf8')) as ChrootState;
const mountedUnderWorkdir = () => mountsUnder(mountPoints(readFileSync('/proc/self/mountinfo', 'utf8')), root);
const actions = (r: BuildResult) => Object.fromEntries(r.packages.map((p) => [p.name, p.action]));

/** Starts `iglu chroot build --tree <fixtures> slow` and waits until its build() runs. */
async function startSlow(extra: string[] = []) {
  const log = path.join(root, 'logs/slow.log');
  rmSync(log, { force: true }); // an earlier run's "slow: started" must not count
  const child = execa('node', [CLI, ...args, 'chroot', 'build', '--tree', tree, ...extra, 'slow'], { reject: false, stdin: 'ignore' });
  for (let i = 0; i < 300; i++) {
    if (existsSync(log) && readFileSync(log, 'utf8').includes('slow: started')) return { child };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`slow never started:\n${(await child).stderr}`);
}

describe('chroot phase: prepare, fetch, build, enter', { timeout: 1_800_000 }, () => {
  before(async () => {
    swarmBefore = (await engine.info()).swarm.state;
    await igluJson(['--config', config, 'image', 'build']);
    await igluJson([...args, 'sources', 'seed']);
    await igluJson([...args, 'farm', 'up', '--replicas', '2']);
    toolchain = await igluJson<ToolchainResult>([...args, 'toolchain', 'build', '--offline']);
  });

  after(async () => {
    await iglu([...args, 'farm', 'down', '--purge', ...(swarmBefore === 'inactive' ? ['--leave'] : [])]); // --purge: the package store's volume too
    assert.deepEqual(mountedUnderWorkdir(), []);
  });

  test('busybox, mksh and zlib from pristine sources: programs linked dynamically against musl that run in the build root; zlib links', async () => {
    const res = await igluJson<BuildResult>([...args, 'chroot', 'build', '--offline', 'busybox', 'mksh', 'zlib']);
    assert.deepEqual(res.order, ['toybox', 'busybox', 'mksh', 'zlib'], 'busybox needs toybox (it keeps the applets toybox lacks)');
    assert.deepEqual(actions(res), { toybox: 'built', busybox: 'built', mksh: 'built', zlib: 'built' });
    const bins = Object.fromEntries(res.packages.flatMap((p) => p.binaries.map((b) => [b.path, b])));
    const dynamicMusl = (p: string) => ({ path: p, static: false, libc: 'musl', interpreter: '/lib/ld-musl-x86_64.so.1', needed: ['libc.so'] });
    assert.deepEqual(bins['bin/busybox'], dynamicMusl('bin/busybox'));
    assert.deepEqual(bins['bin/mksh'], dynamicMusl('bin/mksh'));
    assert.equal(bins['usr/lib/libz.so.1.2.13']?.soname, 'libz.so.1');
    // no GNU runtime linked in: compiler-rt's builtins and crt objects instead
    for (const bin of ['bin/busybox', 'bin/mksh']) assert.ok(!readFileSync(path.join(sysroot, bin)).includes('GCC: ('), `${bin} holds no GCC-built object`);
    // they run in the build root through the sysroot's musl loader
    assert.equal((await iglu([...args, 'chroot', 'enter', '--', '/sysroot/bin/busybox', 'echo', 'hi from busybox'])).stdout.trim(), 'hi from busybox');
    assert.match((await iglu([...args, 'chroot', 'enter', '--', '/sysroot/bin/mksh', '-c', 'echo $KSH_VERSION'])).stdout, /MIRBSD KSH R59/);
    assert.match((await execa('file', [path.join(sysroot, 'bin/busybox')])).stdout, /dynamically linked, interpreter \/lib\/ld-musl-x86_64\.so\.1/);
    const inside = await iglu([...args, 'chroot', 'enter', '--', '/sysroot/bin/busybox', 'sh', '-c', 'echo $((6*7))']);
    assert.equal(inside.stdout.trim(), '42', inside.stderr);
    // zlib is a library something links against: a program compiled in the chroot with -lz
    writeFileSync(path.join(root, 'chroot/root/srv/z.c'), '#include <zlib.h>\n#include <stdio.h>\n#include <string.h>\nint main(void) { unsigned char c[64], d[64]; uLongf n = sizeof c, m = sizeof d; const char *s = "round trip"; compress(c, &n, (const unsigned char *)s, strlen(s) + 1); uncompress(d, &m, c, n); printf("zlib %s %s\\n", zlibVersion(), d); return 0; }\n');
    const z = await iglu([...args, 'chroot', 'enter', '--', 'sh', '-c', 'cd /tmp && $CC -o z /srv/z.c -lz && ./z && readelf -d z | grep NEEDED']);
    assert.match(z.stdout, /^zlib 1\.2\.13 round trip\n.*\[libz\.so\.1\]/s, z.stderr);
    assert.deepEqual(mountedUnderWorkdir(), [], 'nothing stays mounted');
    assert.deepEqual(state().sessions, []);
  });

  test('C++ on musl: a CMake project with iostreams, exceptions and threads links libc++ and LLVM libunwind from the toolchain phase, and runs', async () => {
    // libcxx (libc++, libc++abi, libunwind) was built in the toolchain phase, its compiles on the farm's tasks
    const libcxx = toolchain.packages.find((p) => p.name === 'libcxx');
    assert.equal(libcxx?.action, 'built');
    const remote = Object.values(libcxx.compiles?.remote ?? {}).reduce((a, b) => a + b, 0);
    assert.ok(remote > 0.95 * (remote + (libcxx.compiles?.local ?? 0)) && remote > 100, `libcxx compiles: ${JSON.stringify(libcxx.compiles)}`);
    const res = await igluJson<BuildResult>([...args, 'chroot', 'build', '--tree', tree, 'cxxdemo']);
    assert.deepEqual(actions(res), { cxxdemo: 'built' });
    assert.deepEqual(res.packages[0]!.binaries, [
      { path: 'usr/bin/cxxdemo', static: false, libc: 'musl', interpreter: '/lib/ld-musl-x86_64.so.1', needed: ['libc++.so.1', 'libunwind.so.1', 'libc.so'] },
    ]);
    const bin = readFileSync(path.join(sysroot, 'usr/bin/cxxdemo'));
    assert.ok(!bin.includes('GCC: (') && !bin.includes('GLIBCXX'), 'nothing from GCC or libstdc++');
    const run = await iglu([...args, 'chroot', 'enter', '--', '/sysroot/usr/bin/cxxdemo']);
    assert.equal(run.stdout.trim(), 'cxxdemo: caught sum 10', run.stderr);
    // -static-libstdc++ (llvm's LLVM_STATIC_LINK_CXX_STDLIB) links libc++.a alone: libc++abi is inside it
    cpSync(path.join(tree, 'fix/cxxdemo/cxxdemo.cpp'), path.join(root, 'chroot/root/srv/cxxdemo.cpp'));
    const st = await iglu([...args, 'chroot', 'enter', '--', 'sh', '-c', 'cd /tmp && c++ -O2 -static-libstdc++ -o s /srv/cxxdemo.cpp && ./s && readelf -d s | grep NEEDED']);
    assert.match(st.stdout, /^cxxdemo: caught sum 10\n/, st.stderr);
    assert.doesNotMatch(st.stdout, /libc\+\+/);
  });

  test("recipes shaped like the tree's: Autoconf's configure runs test programs against musl, a ninja file and a BSD make Makefile run the programs they build", async () => {
    // bmake comes from the build environment only because iglu.yaml names it; the plan says so
    const plan = await igluJson<{ fromBuildEnv: { name: string; debian: string }[] }>([...args, 'chroot', 'plan', '--tree', tree, 'bmakedemo']);
    assert.deepEqual(plan.fromBuildEnv, [{ name: 'bmake', debian: 'bmake' }]);
    const unnamed = await iglu(['--config', noEnvConfig, '--workdir', root, 'chroot', 'plan', '--tree', tree, 'bmakedemo']);
    assert.equal(unnamed.code, 1);
    assert.match(unnamed.stderr, /depends on "bmake", which no recipe provides[\s\S]*chroot\.buildEnv/);
    const res = await igluJson<BuildResult>([...args, 'chroot', 'build', '--tree', tree, 'autodemo', 'ninjademo', 'bmakedemo']);
    assert.deepEqual(actions(res), { autodemo: 'built', ninjademo: 'built', bmakedemo: 'built' });
    for (const p of res.packages) {
      assert.deepEqual(p.binaries, [{ path: `usr/bin/${p.name}`, static: false, libc: 'musl', interpreter: '/lib/ld-musl-x86_64.so.1', needed: ['libc.so'] }]);
    }
    const run = async (name: string) => (await iglu([...args, 'chroot', 'enter', '--', `/sysroot/usr/bin/${name}`])).stdout.trim();
    // strlcpy=1: configure's checks compiled and linked against musl (Debian 12's glibc has no strlcpy); long64=1: its test program ran
    assert.equal(await run('autodemo'), 'autodemo: crc32(iglu)=c3d51b28 strlcpy=1 long64=1');
    assert.equal(await run('ninjademo'), 'ninjademo: sum of primes below 50 = 328');
    assert.equal(await run('bmakedemo'), 'bmakedemo: made by bmake');
    const log = readFileSync(path.join(root, 'logs/autodemo.log'), 'utf8');
    assert.match(log, /checking whether we are cross compiling\.\.\. no/);
    assert.match(log, /\.\/mktable > table\.h/);
  });

  test('a rerun with nothing changed skips every package; fetch is idempotent', async () => {
    const res = await igluJson<BuildResult>([...args, 'chroot', 'build', '--offline', 'busybox', 'mksh', 'zlib']);
    assert.deepEqual(actions(res), { toybox: 'up to date', busybox: 'up to date', mksh: 'up to date', zlib: 'up to date' });
    const fetched = await igluJson<{ packages: { name: string; reused: boolean }[] }>([...args, 'chroot', 'fetch', '--offline', 'busybox', 'mksh', 'zlib']);
    assert.deepEqual(fetched.packages.map((p) => p.name), ['toybox', 'busybox', 'mksh', 'zlib']);
  });

  test('installed dependencies are used; a changed recipe rebuilds it and what depends on it', async () => {
    const first = await igluJson<BuildResult>([...args, 'chroot', 'build', '--tree', tree, 'fixb', 'fixc']);
    assert.deepEqual(actions(first), { fixa: 'built', fixb: 'built', fixc: 'built' });
    assert.equal((await iglu([...args, 'chroot', 'enter', '--', '/sysroot/usr/bin/fixb'])).stdout.trim(), 'fixb 42');
    appendFileSync(path.join(tree, 'fix/fixa/build.sh'), '# a changed recipe\n');
    const second = await igluJson<BuildResult>([...args, 'chroot', 'build', '--tree', tree, 'fixb', 'fixc']);
    assert.deepEqual(actions(second), { fixa: 'built', fixb: 'built', fixc: 'up to date' });
  });

  test('chroot.sysroot planned: a recipe that links a library it does not declare builds, after the library the plan puts first', async () => {
    const declared = await iglu([...args, 'chroot', 'build', '--tree', tree, 'borrowa']);
    assert.equal(declared.code, 1, 'a sysroot of what the recipe declares has no libfixa');
    assert.match(declared.stderr, /chroot\.sysroot: planned/);
    // the same build environment (buildEnv: the same farm image), planned sysroots
    const planned = ['--config', writeConfig(`${farmYaml}  oneNode: distcc\n${envYaml}  sysroot: planned\n`), '--workdir', root];
    const res = await igluJson<BuildResult>([...planned, 'chroot', 'build', '--tree', tree, 'fixb', 'borrowa']);
    assert.deepEqual(res.order, ['fixa', 'borrowa', 'fixb'], 'fixa, which fixb declares, first; then by name');
    assert.deepEqual(actions(res), { fixa: 'up to date', borrowa: 'built', fixb: 'built' });
    assert.equal((await iglu([...args, 'chroot', 'enter', '--', '/sysroot/usr/bin/borrowa'])).code, 0);
  });

  test('a recipe as Iglunix writes them: a patch from ../../, a file from ../, plain cc, auto_cross, license, backup; the tree is unchanged', async () => {
    const before = treeHash(tree);
    const res = await igluJson<BuildResult>([...args, 'chroot', 'build', '--tree', tree, 'faithful']);
    assert.deepEqual(actions(res), { faithful: 'built' });
    const musl = (p: string) => ({ path: p, static: false, libc: 'musl', interpreter: '/lib/ld-musl-x86_64.so.1', needed: ['libc.so'] });
    assert.deepEqual(res.packages[0]!.binaries, [musl('usr/bin/faithful'), musl('usr/bin/faithful-abs')], 'plain cc and /usr/bin/cc are aimed at musl in the sysroot');
    const run = await iglu([...args, 'chroot', 'enter', '--', '/sysroot/usr/bin/faithful']);
    // musl's strerror(0) (glibc would say "Success")
    assert.equal(run.stdout.trim(), 'faithful: patched from ../../hello.patch\nNo error information', run.stderr);
    assert.equal(readFileSync(path.join(sysroot, 'etc/faithful.motd'), 'utf8'), 'welcome to a faithful build\n');
    const meta = readFileSync(path.join(sysroot, 'usr/share/iglupkg/faithful'), 'utf8');
    assert.match(meta, /\[license\]\nFaithful fixture licence/);
    assert.match(meta, /\[backup\]\netc\/faithful\.motd/);
    assert.ok(!existsSync(path.join(root, 'build/faithful')), 'the workspace is dropped after a good build');
    // subpackages: ext and subpkgs, each its own tarball and manifest; a dependency on one builds its recipe
    const sp = await igluJson<BuildResult>([...args, 'chroot', 'build', '--tree', tree, 'usesplit']);
    assert.deepEqual(sp.order, ['split', 'usesplit']);
    assert.deepEqual(sp.packages.find((p) => p.name === 'split')?.subpackages, ['split-dev', 'libsplit', 'split-tools']);
    const manifest = (n: string) => JSON.parse(readFileSync(path.join(root, `out/${n}.2.json`), 'utf8')) as { files: { path: string }[]; deps: string[]; shlibs: string[]; subpackageOf?: string; subpackages?: string[]; license?: { spdx?: string } };
    const files = (n: string) => manifest(n).files.filter((f) => !f.path.endsWith('/') && !f.path.startsWith('usr/share/iglupkg')).map((f) => f.path).filter((f) => /\.|split-/.test(path.basename(f))).sort();
    assert.deepEqual(files('split'), ['usr/bin/split-main']);
    assert.deepEqual(files('libsplit'), ['usr/lib/libsplit.so.1']);
    assert.deepEqual(files('split-tools'), ['usr/bin/split-tool', 'usr/include/split/split.h']);
    assert.deepEqual(files('split-dev'), ['usr/share/split/recipe.txt']);
    assert.deepEqual(manifest('libsplit').shlibs, ['libsplit.so.1']);
    assert.deepEqual(manifest('split-tools').deps, ['libsplit']);
    assert.deepEqual(manifest('split').deps, ['libsplit'], 'the subpkgs function named like the package sets its deps');
    assert.equal(manifest('split-tools').subpackageOf, 'split');
    assert.equal(manifest('split').license?.spdx, '0BSD');
    for (const n of ['split', 'split-dev', 'libsplit', 'split-tools']) assert.ok(existsSync(path.join(root, `out/${n}.2.tar.zst`)), n);
    assert.ok(existsSync(path.join(sysroot, 'usr/lib/libsplit.so.1')) && existsSync(path.join(sysroot, 'usr/share/split/recipe.txt')));
    // fatal stops the build; the workspace stays for chroot enter --package
    const r = await iglu([...args, 'chroot', 'build', '--tree', tree, 'fatal']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: this recipe refuses to build/);
    assert.ok(existsSync(path.join(root, 'build/fatal/ws/layers/upper/fix/fatal/src/.fetched')), 'the failed workspace is kept');
    const inside = await iglu([...args, 'chroot', 'enter', '--tree', tree, '--package', 'fatal', '--', 'sh', '-c', 'pwd; ls -A; ls ..']);
    assert.equal(inside.code, 0, inside.stderr);
    assert.deepEqual(inside.stdout.trim().split('\n'), ['/iglu/tree/fix/fatal/src', '.fetched', 'build.sh', 'src']);
    assert.equal(treeHash(tree), before, 'the user\'s tree is byte-for-byte unchanged');
    assert.deepEqual(mountedUnderWorkdir(), []);
  });

  test('a failing build: its log tail, exit 1; the packages before it stay built', async () => {
    const r = await iglu([...args, 'chroot', 'build', '--tree', tree, 'fails']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /fails 1: build failed/);
    assert.match(r.stderr, /fails: the compiler said no/);
    assert.match(r.stderr, /hint: the whole log is .*logs\/fails\.log/);
    assert.ok(state().installed.fixa, 'fixa stays installed');
    const again = await igluJson<BuildResult>([...args, 'chroot', 'build', '--tree', tree, 'fixa']);
    assert.deepEqual(actions(again), { fixa: 'up to date' });
    // --keep-going: what does not need the failed package still builds; its dependents are blocked
    const k = await iglu([...args, 'chroot', 'build', '--tree', tree, '--keep-going', '--json', 'needsfails', 'fixc']);
    assert.equal(k.code, 1, k.stderr);
    const res = JSON.parse(k.stdout) as BuildResult;
    assert.deepEqual(actions(res), { fixa: 'up to date', fails: 'failed', needsfails: 'blocked', fixc: 'up to date' });
    assert.deepEqual(res.packages.find((p) => p.name === 'needsfails')?.blockedBy, ['fails']);
    assert.match(res.packages.find((p) => p.name === 'fails')?.log ?? '', /logs\/fails\.log$/);
    assert.match(k.stderr, /1 package failed \(fails\); 1 blocked/);
    assert.deepEqual(mountedUnderWorkdir(), []);
    // a header that a built package (zlib, above) has and the recipe does not declare: the hint names it
    const undeclared = await iglu([...args, 'chroot', 'build', '--tree', tree, 'needz']);
    assert.equal(undeclared.code, 1);
    assert.match(undeclared.stderr, /fatal error: 'zlib\.h' file not found/);
    assert.match(undeclared.stderr, /hint: zlib\.h is in zlib 1\.2\.13, which \S+fix\/needz\/build\.sh does not declare: add zlib to its mkdeps/);
  });

  test('bad input: unknown package, missing dependency, cycle, a base that is not a tarball', async () => {
    const unknown = await iglu([...args, 'chroot', 'build', '--tree', tree, 'nosuch']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no recipe provides "nosuch"/);
    const missing = await iglu([...args, 'chroot', 'build', '--tree', tree, 'missing']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /fix\/missing\/build\.sh: depends on "nosuchpkg", which no recipe provides/);
    const cycle = await iglu([...args, 'chroot', 'build', '--tree', tree, 'cyc1']);
    assert.equal(cycle.code, 1);
    assert.match(cycle.stderr, /dependency cycle: cyc1 → cyc2 → cyc1/);
    const notTar = path.join(root, 'not-a-tarball.tar');
    writeFileSync(notTar, 'this is not a tarball\n');
    const before = state().base;
    const bad = await iglu([...args, 'chroot', 'prepare', '--base', notTar]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not-a-tarball\.tar is not a tarball GNU tar can read/);
    assert.deepEqual(state().base, before, 'the prepared root is untouched');
    assert.ok(existsSync(path.join(sysroot, 'bin/busybox')));
  });

  test('a full disk while packing: exit 1, no half-written package kept', async () => {
    const out = path.join(root, 'out');
    const keep = readdirSync(out).filter((f) => f.startsWith('musl') || f.startsWith('compiler-rt.') || f.startsWith('libcxx.'));
    const size = keep.reduce((n, f) => n + statSync(path.join(out, f)).size, 0) + 1024 * 1024;
    const saved = scratchDir('iglu-out-');
    for (const f of keep) cpSync(path.join(out, f), path.join(saved, f));
    // a disk with room for the toolchain packages and 1 MiB more, over out/
    await execa('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil(size / 4096) * 4096}`, 'iglu-test-full', out]);
    try {
      for (const f of keep) cpSync(path.join(saved, f), path.join(out, f));
      const r = await iglu([...args, 'chroot', 'build', '--tree', tree, 'big']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot pack .*big/);
      assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('big.')), [], 'nothing of big is left in out/');
    } finally {
      await execa('umount', [out]);
    }
    assert.ok(!existsSync(path.join(out, 'big.1.tar.zst')));
  });

  test('Ctrl-C in the middle of a build: exit 130, nothing mounted, no session left', async () => {
    const { child } = await startSlow(['--rebuild']);
    child.kill('SIGINT');
    const r = await child;
    assert.equal(r.exitCode, 130, String(r.stderr));
    assert.deepEqual(mountedUnderWorkdir(), []);
    assert.deepEqual(state().sessions, []);
  });

  test('kill -9 in the middle of a build: the next iglu releases what it recorded, and the build completes', async () => {
    const { child } = await startSlow(['--rebuild']);
    const [session] = state().sessions;
    assert.ok(session?.holder, 'the running build is recorded');
    assert.deepEqual(session.mounts.map((m) => m.target).slice(0, 5), ['/proc', '/dev', '/tmp', '/root', '/var/tmp']);
    assert.deepEqual(mountedUnderWorkdir(), [], 'the build\'s mounts are in its own namespace only');
    child.kill('SIGKILL');
    await child;
    for (let i = 0; i < 30 && (await isRunning(session.holder)); i++) await sleep(100);
    assert.equal(await isRunning(session.holder), false, 'the namespaces died with iglu');
    assert.equal(state().sessions.length, 1, 'the killed iglu could not drop its session');
    const again = await iglu([...args, 'chroot', 'build', '--tree', tree, 'slow']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /released what an interrupted iglu left \(1 session\)/);
    assert.deepEqual(state().sessions, []);
    assert.deepEqual(mountedUnderWorkdir(), []);
    assert.ok(existsSync(path.join(sysroot, 'usr/share/slow/out')));
  });

  test('a second iglu on the same work directory is refused with who holds it', async () => {
    const { child } = await startSlow(['--rebuild']);
    try {
      const second = await iglu([...args, 'chroot', 'build', '--tree', tree, 'fixc']);
      assert.equal(second.code, 75, 'EX_TEMPFAIL: try again later');
      assert.match(second.stderr, /is in use by another iglu \(pid \d+, "iglu chroot build slow", since /);
    } finally {
      const first = await child;
      assert.equal(first.exitCode, 0, String(first.stderr));
    }
    assert.deepEqual(actions(await igluJson<BuildResult>([...args, 'chroot', 'build', '--tree', tree, 'fixc'])), { fixc: 'up to date' });
  });

  test('--farm: the chroot build compiles on the farm\'s tasks', async () => {
    const run = await iglu([...args, 'chroot', 'build', '--farm', '--rebuild', '--offline', 'zlib', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const res = JSON.parse(run.stdout) as BuildResult;
    assert.equal(res.mode, 'farm');
    // the farm's use under the build step, read from the tasks' distccd stats in the chroot container
    assert.match(run.stderr, /build in the chroot through distcc, -j\d+ \(log: [^)]*zlib\.log\); farm: \d+\/\d+ slots busy, \d+ compiles done/);
    const [zlib] = res.packages;
    const remote = Object.values(zlib?.compiles?.remote ?? {}).reduce((a, b) => a + b, 0);
    assert.ok(remote > 0, `remote compiles: ${JSON.stringify(zlib?.compiles)}`);
    assert.equal((await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'chroot' })).length, 0, 'the chroot container is removed');
    assert.deepEqual(mountedUnderWorkdir(), []);
  });

  test("--farm with farm.oneNode: here (the default) on a one-node farm: the compiles stay in the farm's container, counted as local", async () => {
    const run = await iglu(['--config', hereConfig, '--workdir', root, 'chroot', 'build', '--farm', '--rebuild', '--offline', 'zlib', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const [zlib] = (JSON.parse(run.stdout) as BuildResult).packages;
    assert.deepEqual(zlib?.compiles?.remote, {}, JSON.stringify(zlib?.compiles));
    assert.ok((zlib?.compiles?.local ?? 0) > 10, `compiled here: ${JSON.stringify(zlib?.compiles)}`);
    assert.doesNotMatch(run.stderr, /through distcc/);
    assert.equal((await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'chroot' })).length, 0, 'the chroot container is removed');
  });

  test('the hostile fixtures and the limits hold in every runner: the build root here, --farm and --spread', async () => {
    for (const runner of [[], ['--farm'], ['--spread']]) {
      const r = await iglu([...args, 'chroot', 'build', ...runner, '--json', '--keep-going', '--rebuild', '--offline', '--tree', hostile.dir, ...hostile.names]);
      await hostile.check(r, root, runner[0] ?? 'here');
    }
    assert.equal((await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'chroot' })).length, 0, 'the chroot container is removed');
    assert.deepEqual(await engine.services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' }), [], 'no build job is left');
    assert.deepEqual(mountedUnderWorkdir(), []);
  });

  test('--base: a root filesystem tarball instead of the farm image; a new base rebuilds', async () => {
    const base = path.join(scratchDir('iglu-base-'), 'base.tar.zst');
    await execa('sh', ['-c', `tar -C ${path.join(root, 'chroot/root')} --exclude=./sysroot --numeric-owner -cf - . | zstd -q -T0 -1 -o ${base}`]);
    const prepared = await igluJson<{ base: { kind: string }; reused: boolean; installed: string[] }>([...args, 'chroot', 'prepare', '--base', base]);
    assert.equal(prepared.base.kind, 'tarball');
    assert.equal(prepared.reused, false);
    assert.deepEqual(prepared.installed, ['musl-headers', 'compiler-rt', 'musl', 'libcxx']);
    assert.deepEqual(actions(await igluJson<BuildResult>([...args, 'chroot', 'build', '--tree', tree, 'fixc'])), { fixc: 'built' });
    assert.equal((await iglu([...args, 'chroot', 'enter', '--', '/sysroot/usr/bin/fixc'])).code, 0);
    assert.deepEqual(mountedUnderWorkdir(), []);
  });
});

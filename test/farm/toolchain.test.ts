import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { Engine, resolveEndpoint } from '../../src/docker/index.js';
import { remoteFraction } from '../../src/farm/distcc-log.js';
import { FORWARD_TIMEOUT_S, forwarderConnections } from '../../src/farm/distcc-socket.js';
import type { FarmUpResult } from '../../src/farm/up.js';
import type { FarmImage } from '../../src/image/build.js';
import { LABEL } from '../../src/labels.js';
import type { PackageManifest } from '../../src/packages/manifest.js';
import type { ToolchainPackage, ToolchainResult } from '../../src/phases/toolchain.js';
import { CLI, iglu, igluJson, scratchDir, uniqueName, writeConfig } from '../support/cli.js';
import { hostileSet } from '../support/hostile-set.js';
import { linkStaticHello } from '../support/hello.js';
import { hostileTree } from '../support/hostile.js';

// The toolchain phase on a real single-node farm: musl 1.2.3 from its pristine tarball
// (seeded offline from Debian's source archive), compiled through distcc on the farm's
// tasks, and a static hello world linked against the result.
const engine = new Engine(resolveEndpoint(undefined));
const farm = uniqueName('tc');
const hostile = hostileSet();
// oneNode: distcc — compiles go through the farm even on one machine; `here` is the default, tested below with its own config
const farmYaml = `farm:\n  name: ${farm}\n  network: ${farm}-net\n  readyTimeout: 90\n`;
// the C library set: C++ (libcxx, in the default set) is the chroot suite's
const cLibrarySet = 'toolchain:\n  packages: [musl-headers, compiler-rt, musl]\n';
const config = writeConfig(`${farmYaml}  oneNode: distcc\n${hostile.limitsYaml}\n${cLibrarySet}`);
const hereConfig = writeConfig(`${farmYaml}${cLibrarySet}`);
const root = scratchDir('iglu-tc-');
const args = ['--config', config, '--workdir', root];
const FIXTURES = path.resolve(import.meta.dirname, '../../../test/fixtures/fetch-tree');
let swarmBefore = 'inactive';
let image: FarmImage;
let up: FarmUpResult;

const clients = async () => (await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'client' })).length;

describe('toolchain phase on a real single-node farm', { timeout: 1_200_000 }, () => {
  before(async () => {
    swarmBefore = (await engine.info()).swarm.state;
    image = await igluJson<FarmImage>(['--config', config, 'image', 'build']);
    await igluJson([...args, 'sources', 'seed']);
  });

  after(async () => {
    await iglu([...args, 'farm', 'down', '--purge', ...(swarmBefore === 'inactive' ? ['--leave'] : [])]); // --purge: the package store's volume too
  });

  test('without a farm up: a clear error, exit 1', async () => {
    const r = await iglu([...args, 'toolchain', 'build', '--offline']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`no farm is up: the service ${farm}_distccd does not exist`));
    assert.match(r.stderr, /hint: start it with iglu farm up/);
  });

  test("musl's headers, compiler-rt against them, then musl 1.2.3 against it, built through the farm: compiles ran on the farm tasks, a static hello world runs", async () => {
    up = await igluJson<FarmUpResult>([...args, 'farm', 'up']);
    assert.equal(up.hosts.length, 1, 'global by default: one task on the one node');
    assert.equal((await engine.networks.get(`${farm}-net`))?.internal, true, 'builds on the overlay reach nothing but the farm');
    const run = await iglu([...args, 'toolchain', 'build', '--offline', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const res = JSON.parse(run.stdout) as ToolchainResult;
    // the farm's use under the build step, from the task's distccd stats (farm/use.ts)
    const uses = [...run.stderr.matchAll(/build through distcc, -j\d+ \(log: [^)]*musl\.log\); farm: (\d+)\/(\d+) slots busy, (\d+) compiles done/g)];
    assert.ok(uses.length >= 2, `musl's build step shows the farm's use as it goes:\n${run.stderr}`);
    assert.ok(
      uses.every((m) => Number(m[2]) === up.slots),
      "the slots are the farm's",
    );
    assert.ok(Number(uses.at(-1)![3]) > 0, 'the compiles done on the farm grow during the build');
    assert.equal(res.jobs, 2 * up.slots, "-j is twice the farm's slots (distcc(1))");
    assert.equal(up.slots, availableParallelism(), "the one task offers the node's CPUs");
    assert.deepEqual(
      res.packages.map((p) => [p.name, p.action]),
      [
        ['musl-headers', 'built'],
        ['compiler-rt', 'built'],
        ['musl', 'built'],
      ],
    );
    const [, rt, musl] = res.packages as [ToolchainPackage, ToolchainPackage, ToolchainPackage];
    const rtFiles = (JSON.parse(readFileSync(rt.manifest, 'utf8')) as PackageManifest).files.map((f) => f.path);
    for (const f of ['libclang_rt.builtins-x86_64.a', 'clang_rt.crtbegin-x86_64.o', 'clang_rt.crtend-x86_64.o'])
      assert.ok(rtFiles.includes(`usr/lib/clang/14.0.6/lib/linux/${f}`), f);
    // musl's libc.so links against compiler-rt's builtins, never GNU's libgcc
    assert.match(
      readFileSync(musl.log, 'utf8'),
      /using compiler runtime libraries: \/sysroot\/usr\/lib\/clang\/14\.0\.6\/lib\/linux\/libclang_rt\.builtins-x86_64\.a\n/,
    );
    const taskIps = new Set(up.hosts.map((h) => h.ip));
    const remote = Object.entries(res.compiles.remote);
    assert.ok(remote.length > 0 && remote.every(([ip]) => taskIps.has(ip)), `remote hosts ${remote.map(([ip]) => ip).join(' ')} are farm tasks`);
    assert.ok(remote.reduce((n, [, c]) => n + c, 0) > 1000, 'musl has over a thousand C files');
    assert.ok(remoteFraction(res.compiles) > 0.95, `remote fraction ${remoteFraction(res.compiles)}`);
    assert.equal(res.compiles.bypassed, 0, 'every compile went through distcc');

    const manifest = JSON.parse(readFileSync(musl.manifest, 'utf8')) as PackageManifest;
    assert.deepEqual(
      manifest.sources.map((s) => s.sha256),
      ['7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4'],
    );
    const files = new Set(manifest.files.map((f) => f.path));
    for (const f of ['usr/lib/libc.a', 'usr/lib/libc.so', 'usr/include/stdio.h', 'lib/ld-musl-x86_64.so.1', 'usr/share/iglupkg/musl'])
      assert.ok(files.has(f), f);
    assert.deepEqual(manifest.build.compiles, musl.compiles, 'the manifest records the counts the run reports');

    const hello = await linkStaticHello(engine, image.id, musl.tarball);
    assert.match(hello.file, /statically linked/);
    assert.equal(hello.output, 'hello from musl');
    assert.equal(await clients(), 0, 'the client container is removed');
  });

  test('a rerun with nothing changed is up to date', async () => {
    const res = await igluJson<ToolchainResult>([...args, 'toolchain', 'build', '--offline']);
    assert.deepEqual(
      res.packages.map((p) => p.action),
      ['up to date', 'up to date', 'up to date'],
    );
  });

  test('a compiler reached by absolute path through a link goes to the farm; one run past distcc is counted as bypassed', async () => {
    const res = await igluJson<ToolchainResult>([...args, 'toolchain', 'build', '--offline', '--tree', FIXTURES, 'abscc']);
    const c = res.compiles;
    const remote = Object.values(c.remote).reduce((a, b) => a + b, 0);
    assert.equal(remote + c.local, 5, `the five compiles through $ARCH-linux-musl-cc -> /usr/bin/cc reached distcc: ${JSON.stringify(c)}`);
    assert.ok(remote >= 4, `they ran on the farm: ${JSON.stringify(c)}`);
    assert.equal(c.bypassed, 1, 'the compile with IGLU_COMPILER_LAUNCHER emptied');
    assert.ok(Object.keys(c.remote).every((ip) => up.hosts.some((h) => h.ip === ip)));
  });

  test("farm.oneNode: here (the default): a farm whose every task runs on this machine compiles in the client through distcc's localhost, counted as local, with no canary", async () => {
    const r = await iglu(['--config', hereConfig, '--workdir', root, '--json', 'toolchain', 'build', '--offline', '--rebuild', '--tree', FIXTURES, 'abscc']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as ToolchainResult;
    assert.equal(res.mode, 'here');
    assert.match(res.distccHosts, /^localhost\/\d+$/);
    assert.deepEqual(res.compiles.remote, {}, 'nothing went to the tasks');
    assert.equal(res.compiles.local, 5, `the five compiles through distcc ran here: ${JSON.stringify(res.compiles)}`);
    assert.equal(res.compiles.bypassed, 1);
    assert.match(r.stderr, /every task runs on this machine: compiling here/);
    assert.doesNotMatch(r.stderr, /verify the compilers/, 'no canary: no other compiler makes the objects');
    assert.equal(await clients(), 0);
  });

  test('a failing recipe: its log tail and log path, exit 1, the package before it kept', async () => {
    const file = path.join(root, 'builds-1.0.txt');
    writeFileSync(file, 'fixture\n');
    assert.equal((await iglu([...args, 'sources', 'import', file, '--url', 'https://example.invalid/builds-1.0.txt'])).code, 0);
    const r = await iglu([...args, 'toolchain', 'build', '--offline', '--tree', FIXTURES, 'fails']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /fails 1\.0: build failed \(.*fetch-tree\/base\/fails\/build\.sh\)/);
    assert.match(r.stderr, /this recipe fails on purpose/);
    assert.match(r.stderr, new RegExp(`hint: the whole log is ${root}/logs/fails\\.log`));
    assert.ok(existsSync(path.join(root, 'out/builds.1.0.tar.zst')), 'builds, built before fails, is kept');
    assert.equal(await clients(), 0);
  });

  test('a source missing from the cache while offline: exit 1, named', async () => {
    const r = await iglu(['--config', config, '--workdir', mkdtempSync(path.join(tmpdir(), 'iglu-empty-')), 'toolchain', 'build', '--offline']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /source not in the cache, and iglu is offline: https:\/\/musl\.libc\.org\/releases\/musl-1\.2\.3\.tar\.gz/);
  });

  test('Ctrl-C during the build: exit 130, the client container is removed', async () => {
    const child = execa('node', [CLI, ...args, 'toolchain', 'build', '--offline', '--rebuild'], {
      reject: false,
    });
    for (let i = 0; i < 600 && (await clients()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await clients(), 1, 'the client container runs');
    await new Promise((r) => setTimeout(r, 2000));
    child.kill('SIGINT');
    const res = await child;
    assert.equal(res.exitCode, 130, String(res.stderr));
    assert.match(String(res.stderr), /interrupted/);
    assert.equal(await clients(), 0);
  });

  // issue 21's hostile runs on the farm: what a recipe leaves running, what it packs, what a kill -9 leaves
  const evil = hostileTree('iglu-tc-hostile-');
  evil.add(
    'base/tc-evil',
    [
      'pkgname=tc-evil',
      'pkgver=1',
      'fetch() { :; }',
      `build() { nohup sh -c 'while :; do for d in /iglu/tree/*/*/out/*/; do echo x > "$d/POISON"; done; sleep .2; done' >/dev/null 2>&1 & sleep 1; }`,
      'package() { mkdir -p "$pkgdir/usr/share"; echo evil > "$pkgdir/usr/share/tc-evil"; }',
      '',
    ].join('\n'),
  );
  evil.add(
    'base/tc-victim',
    [
      'pkgname=tc-victim',
      'pkgver=1',
      'mkdeps="tc-evil"',
      'fetch() { :; }',
      'build() { sleep 2; }',
      'package() { mkdir -p "$pkgdir/usr/share"; echo ok > "$pkgdir/usr/share/tc-victim"; sleep 2; }',
      '',
    ].join('\n'),
  );
  evil.add(
    'base/tc-dev',
    [
      'pkgname=tc-dev',
      'pkgver=1',
      'fetch() { :; }',
      'build() { :; }',
      'package() { install -Dm4755 /bin/true "$pkgdir/usr/bin/rootsh"; mknod "$pkgdir/disk" b 254 0; }',
      '',
    ].join('\n'),
  );
  evil.add('base/tc-slow', ['pkgname=tc-slow', 'pkgver=1', 'fetch() { :; }', 'build() { echo slow-started; sleep 600; }', 'package() { :; }', ''].join('\n'));

  test('nothing a recipe starts outlives its package: a daemon of one build never writes into the next package', async () => {
    const res = await igluJson<ToolchainResult>([...args, 'toolchain', 'build', '--offline', '--local', '--tree', evil.dir, 'tc-evil', 'tc-victim']);
    assert.deepEqual(
      res.packages.map((p) => [p.name, p.action]),
      [
        ['tc-evil', 'built'],
        ['tc-victim', 'built'],
      ],
    );
    const listed = await execa('tar', ['--zstd', '-tf', path.join(root, 'out/tc-victim.1.tar.zst')]);
    assert.doesNotMatch(listed.stdout, /POISON/, listed.stdout);
    assert.equal(await clients(), 0);
  });

  evil.add(
    'base/tc-probe',
    [
      'pkgname=tc-probe',
      'pkgver=1',
      'fetch() { :; }',
      'build() {',
      '  echo "uid map: $(cat /proc/self/uid_map)"',
      '  grep -E "^(CapEff|NoNewPrivs)" /proc/self/status',
      // /proc/net is the reader's network namespace (proc(5)); /sys is not in the sandbox
      '  echo "interfaces: $(sed -n "3,\\$s/:.*//p" /proc/net/dev | tr -d " " | tr "\\n" " ")"',
      '  for s in /var/run/docker.sock /run/docker.sock; do [ -e $s ] && echo "DOCKER-SOCKET $s"; done',
      '  touch /usr/iglu-probe 2>/dev/null && echo ROOT-WRITABLE',
      '  echo "user: $(id -u)"',
      '}',
      'package() { mkdir -p "$pkgdir/usr/share"; echo ok > "$pkgdir/usr/share/tc-probe"; }',
      '',
    ].join('\n'),
  );

  test('build() runs in the sandbox: root inside is an unprivileged uid outside, no capabilities, no_new_privs, a read-only root, no Docker socket, and only lo, through the farm too', async () => {
    for (const local of [true, false]) {
      const r = await iglu([...args, 'toolchain', 'build', '--offline', ...(local ? ['--local'] : []), '--rebuild', '--tree', evil.dir, 'tc-probe']);
      assert.equal(r.code, 0, r.stderr);
      const log = readFileSync(path.join(root, 'logs/tc-probe.log'), 'utf8');
      // root inside maps to root of bwrap's own namespace (--disable-userns nests one), itself 99999 in the container
      assert.match(log, /uid map:\s+0\s+0\s+1\n/, log);
      assert.match(log, /CapEff:\s+0000000000000000/);
      assert.match(log, /NoNewPrivs:\s+1/);
      assert.doesNotMatch(log, /DOCKER-SOCKET|ROOT-WRITABLE/);
      // through the farm too: distcc goes through the client's forwarder (farm/distcc-socket.ts)
      assert.match(log, /interfaces: lo \n/, log);
    }
  });

  // issue 33: a sandbox process held 300 idle connections to the forwarder, 301 root processes in the client
  evil.add(
    'base/tc-conns',
    [
      'pkgname=tc-conns',
      'pkgver=1',
      'fetch() { :; }',
      'build() {',
      "  python3 - <<'PY'",
      'import os, select, socket, sys, time',
      'held = []',
      'for i in range(300):',
      '    s = socket.socket(socket.AF_UNIX); s.connect(os.environ["IGLU_DISTCC_SOCKET"]); held.append(s)',
      'def still_open():',
      '    ready = select.select(held, [], [], 0)[0]',
      '    return len(held) - sum(1 for s in ready if s.recv(1) == b"")',
      'time.sleep(2)',
      'print("conns-open", still_open(), flush=True)',
      'print("conns-holding", flush=True)',
      `time.sleep(${FORWARD_TIMEOUT_S} + 6)`,
      'print("conns-after-timeout", still_open(), flush=True)',
      'PY',
      '}',
      'package() { :; }',
      '',
    ].join('\n'),
  );

  test('the forwarder serves a capped number of connections and closes one idle past its timeout; the client container has pids and memory limits (issue 33)', async () => {
    up ??= await igluJson<FarmUpResult>([...args, 'farm', 'up']); // when run alone
    const child = execa('node', [CLI, ...args, 'toolchain', 'build', '--offline', '--rebuild', '--tree', evil.dir, 'tc-conns'], { reject: false });
    const log = path.join(root, 'logs/tc-conns.log');
    const holding = () => existsSync(log) && readFileSync(log, 'utf8').includes('conns-holding');
    for (let i = 0; i < 1800 && !holding() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(holding(), `the recipe holds its connections: ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    const [client] = await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'client' });
    const inspected = await execa('docker', ['inspect', '--format', '{{.HostConfig.PidsLimit}} {{.HostConfig.Memory}}', client!.id]);
    const [pids, memory] = inspected.stdout.trim().split(' ').map(Number);
    assert.ok(pids! > 0 && pids! < 8192, `PidsLimit ${pids}`);
    assert.ok(memory! > 0 && memory! < totalmem(), `Memory ${memory}`);
    const ps = await execa('docker', ['exec', client!.id, 'ps', '-e', '-o', 'comm=']);
    const perls = ps.stdout.split('\n').filter((c) => c.trim() === 'perl').length;
    const cap = forwarderConnections(up.slots);
    assert.ok(perls <= cap + 1, `${perls} forwarder processes for 300 connections (at most ${cap} served at once)`);
    const r = await child;
    assert.equal(r.exitCode, 0, String(r.stderr));
    const text = readFileSync(log, 'utf8');
    const open = Number(/conns-open (\d+)/.exec(text)?.[1]);
    assert.ok(open > 0 && open <= cap, `${open} of 300 connections left open: the rest closed at once (${text})`);
    assert.match(text, /conns-after-timeout 0\b/, 'every idle connection was closed after the timeout');
  });

  test('the hostile fixtures and the limits hold in the toolchain phase as in the build root (--keep-going)', async () => {
    const r = await iglu([...args, 'toolchain', 'build', '--json', '--keep-going', '--rebuild', '--offline', '--tree', hostile.dir, ...hostile.names]);
    await hostile.check(r, root, 'toolchain');
    assert.equal(await clients(), 0, 'the client container is removed');
  });

  test('a device node a recipe makes in its pkgdir never reaches the host: the sandbox refuses mknod and the build fails', async () => {
    const r = await iglu([...args, 'toolchain', 'build', '--offline', '--local', '--tree', evil.dir, 'tc-dev']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /mknod.*Operation not permitted/);
    const left = await execa('find', [root, '(', '-type', 'b', '-o', '-type', 'c', '-o', '-perm', '-4000', '-user', 'root', ')', '-print'], { reject: false });
    assert.equal(left.stdout.trim(), '', 'no device node and no setuid-root file in the work directory');
  });

  test('kill -9 of a toolchain build and of farm top: the next command removes the containers they left (with the daemons in them)', async () => {
    const child = execa('node', [CLI, ...args, 'toolchain', 'build', '--offline', '--local', '--tree', evil.dir, 'tc-slow'], { reject: false });
    const slowLog = path.join(root, 'logs/tc-slow.log');
    const started = () => existsSync(slowLog) && readFileSync(slowLog, 'utf8').includes('slow-started');
    for (let i = 0; i < 1800 && !started() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    const killed = await child;
    assert.ok(started(), `the build was running when it was killed: ${String(killed.stderr)}`);
    assert.equal(await clients(), 1, 'kill -9 left the client container');
    const top = execa('node', [CLI, ...args, 'farm', 'top'], { reject: false });
    const readers = async () => (await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'stats' })).length;
    for (let i = 0; i < 300 && (await readers()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    top.kill('SIGKILL');
    await top;
    assert.equal(await readers(), 1, 'kill -9 left the reader');
    const once = await iglu([...args, 'farm', 'top', '--once', '--json']);
    assert.equal(once.code, 0, once.stderr);
    assert.equal(await readers(), 0, "the next farm top removed the dead one's reader (and its own)");
    assert.equal(await clients(), 0, 'the client of the killed build is gone too');
  });
});

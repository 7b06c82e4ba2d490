import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { after, before, describe, test } from 'node:test';
import { Engine, resolveEndpoint } from '../../src/docker/index.js';
import { distributeImage } from '../../src/farm/distribute.js';
import type { FarmDownResult } from '../../src/farm/down.js';
import type { JoinToken } from '../../src/farm/join.js';
import type { FarmStatus } from '../../src/farm/status.js';
import type { FarmUpResult } from '../../src/farm/up.js';
import type { FarmImage } from '../../src/image/build.js';
import { LABEL } from '../../src/labels.js';
import { remoteFraction } from '../../src/farm/distcc-log.js';
import type { ToolchainResult } from '../../src/phases/toolchain.js';
import { CLI, iglu, igluJson, uniqueName, writeConfig } from '../support/cli.js';
import { linkStaticHello } from '../support/hello.js';
import { compileThroughFarm } from '../support/compile.js';
import { hostileTree } from '../support/hostile.js';
import { NetnsEngines, hostSnapshot } from '../support/netns-engines.js';

// Three real swarm nodes on this machine: engines n1 (manager), n2, n3 in network
// namespaces. The host's own engine only supplies the farm image and stays as it was.
const nodes = new NetnsEngines(3);
const farm = uniqueName('mn');
const network = `${farm}-net`;
const head = `docker:\n  host: ${nodes.endpoint(1)}\nfarm:\n  name: ${farm}\n  network: ${network}\n  advertiseAddr: ${nodes.addr(1)}\n  readyTimeout: 120\n  nodes:\n`;
const node = (i: number) => `    - endpoint: ${nodes.endpoint(i)}\n      advertiseAddr: ${nodes.addr(i)}\n`;
// the C library set: C++ (libcxx, in the default set) is the chroot suite's
const cLibrarySet = 'toolchain:\n  packages: [musl-headers, compiler-rt, musl]\n';
const withN2 = ['--config', writeConfig(head + node(2) + cLibrarySet)];
const withAll = ['--config', writeConfig(head + node(2) + node(3) + cLibrarySet)];
let before_ = '';
const workdir = mkdtempSync(path.join(tmpdir(), 'iglu-mn-'));
let image: FarmImage;
const FIXTURES = path.resolve(import.meta.dirname, '../../../test/fixtures/fetch-tree');

describe('three-node farm: engines in network namespaces', { timeout: 1_200_000 }, () => {
  before(async () => {
    before_ = await hostSnapshot(nodes.base);
    image = await igluJson<FarmImage>(['image', 'build']);
    await nodes.up();
    await igluJson(['--workdir', workdir, 'sources', 'seed']);
    // the manager engine gets the image from the host engine the way iglu moves images
    await distributeImage(new Engine(resolveEndpoint(undefined)), [nodes.engine(1)], image);
  });

  after(async () => {
    await iglu([...withAll, 'farm', 'down', '--leave']);
    await nodes.down();
    assert.equal(await hostSnapshot(nodes.base), before_, 'teardown leaves the host as it was');
  });

  let first: FarmUpResult;
  test('farm up initialises the swarm, joins n2 from iglu.yaml and copies the image to it', async () => {
    first = await igluJson<FarmUpResult>([...withN2, 'farm', 'up', '--replicas', '2']);
    assert.equal(first.swarm, 'initialised');
    assert.deepEqual(first.joined, [nodes.endpoint(2)]);
    assert.deepEqual(first.image.copiedTo, [nodes.endpoint(2)]);
    assert.equal((await nodes.engine(2).images.inspect(image.id))?.id, image.id);
  });

  test('farm join: n3 joins with the token from farm token', async () => {
    const token = await igluJson<JoinToken>([...withN2, 'farm', 'token']);
    assert.match(token.token, /^SWMTKN-1-/);
    assert.equal(token.managerAddr, `${nodes.addr(1)}:2377`);
    const r = await iglu(['--docker-host', nodes.endpoint(3), 'farm', 'join', '--token', token.token, token.managerAddr, '--advertise-addr', nodes.addr(3)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await nodes.engine(3).info()).swarm.state, 'active');
    assert.ok(!r.stderr.includes(token.token), 'the token is not echoed on stderr');
  });

  let up: FarmUpResult;
  test('farm up puts the image on n3 only, and spreads 3 tasks over 3 nodes', async () => {
    up = await igluJson<FarmUpResult>([...withAll, 'farm', 'up', '--replicas', '3']);
    assert.deepEqual(up.joined, [], 'both nodes are already members');
    assert.deepEqual(up.image.copiedTo, [nodes.endpoint(3)], 'n2 already had the image ID');
    assert.equal(up.hosts.length, 3);
    assert.deepEqual(new Set(up.hosts.map((h) => h.hostname)), new Set(['iglu-n1', 'iglu-n2', 'iglu-n3']));
    const status = await igluJson<FarmStatus>([...withAll, 'farm', 'status']);
    assert.equal(status.nodes.filter((n) => n.state === 'ready').length, 3);
    assert.equal(status.distccHosts, up.distccHosts);
  });

  test('compiles from a client container on the manager land on tasks of the other nodes', async () => {
    const res = await compileThroughFarm(nodes.engine(1), {
      imageId: image.id,
      network,
      distccHosts: up.distccHosts,
      files: 12,
      labels: { [LABEL.farm]: farm, [LABEL.role]: 'test-client' },
    });
    assert.equal(res.exitCode, 0, res.output);
    assert.equal(res.placements.length, 12, res.output);
    const hostOf = new Map(up.hosts.map((h) => [h.ip, h.hostname]));
    const perNode = new Map<string, number>();
    for (const p of res.placements) {
      const hostname = hostOf.get(p.host);
      assert.ok(hostname, `${p.file} ran on ${p.host}, not a farm task`);
      perNode.set(hostname, (perNode.get(hostname) ?? 0) + 1);
    }
    assert.ok((perNode.get('iglu-n2') ?? 0) > 0 && (perNode.get('iglu-n3') ?? 0) > 0, `placements: ${JSON.stringify([...perNode])}`);
  });

  test("toolchain build: musl through the three-node farm, compiles on the other nodes' tasks", async () => {
    const res = await igluJson<ToolchainResult>([...withAll, '--workdir', workdir, 'toolchain', 'build', '--offline']);
    assert.deepEqual(
      res.packages.map((p) => [p.name, p.action]),
      [
        ['musl-headers', 'built'],
        ['compiler-rt', 'built'],
        ['musl', 'built'],
      ],
    );
    const musl = res.packages.find((p) => p.name === 'musl')!;
    assert.ok((res.compiles.byNode['iglu-n2'] ?? 0) > 0 && (res.compiles.byNode['iglu-n3'] ?? 0) > 0, `per node: ${JSON.stringify(res.compiles.byNode)}`);
    assert.ok(remoteFraction(res.compiles) > 0.95, `remote fraction ${remoteFraction(res.compiles)}`);
    const hello = await linkStaticHello(new Engine(resolveEndpoint(undefined)), image.id, musl.tarball);
    assert.equal(hello.output, 'hello from musl');
  });

  // the jobs a spread build ran: --json's per-package node and interval
  type Spread = {
    mode: string;
    spread?: { nodes: string[]; room: number };
    packages: {
      name: string;
      action: string;
      node?: string;
      attempts?: number;
      startedAt?: string;
      endedAt?: string;
      usage?: { cpuSeconds: number; peakMemoryBytes: number };
      log: string;
    }[];
  };
  test('chroot build on a farm of three nodes spreads by default: independent packages build at the same time on different nodes', async (t) => {
    const r = await iglu([...withAll, '--workdir', workdir, '--json', 'chroot', 'build', '--offline', 'zlib', 'mksh', 'toybox']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /spreading the packages over the farm's 3 nodes/);
    const res = JSON.parse(r.stdout) as Spread;
    assert.equal(res.mode, 'spread');
    assert.equal(res.spread?.room, 6, 'three nodes of two CPUs, one CPU a job');
    assert.deepEqual(res.packages.map((p) => [p.name, p.action]).sort(), [
      ['mksh', 'built'],
      ['toybox', 'built'],
      ['zlib', 'built'],
    ]);
    for (const p of res.packages) {
      assert.match(p.node ?? '', /^iglu-n[123]$/, `${p.name} names its node`);
      assert.ok(p.usage && p.usage.cpuSeconds > 0 && p.usage.peakMemoryBytes > 0, `${p.name}: cgroup figures ${JSON.stringify(p.usage)}`);
      assert.match(readFileSync(p.log, 'utf8'), new RegExp(`iglu-job: on node ${p.node}`), `${p.name}'s log came back from its node`);
    }
    t.diagnostic(
      `jobs: ${res.packages.map((p) => `${p.name} on ${p.node} ${p.startedAt?.slice(11, 23)}-${p.endedAt?.slice(11, 23)} cpu ${p.usage?.cpuSeconds} s, peak ${Math.round((p.usage?.peakMemoryBytes ?? 0) / 2 ** 20)} MiB`).join('; ')}`,
    );
    const overlapping = res.packages.flatMap((a) =>
      res.packages
        .filter((b) => a.name < b.name && a.node !== b.node && a.startedAt! < b.endedAt! && b.startedAt! < a.endedAt!)
        .map((b) => `${a.name}@${a.node} ${b.name}@${b.node}`),
    );
    assert.ok(overlapping.length > 0, `intervals: ${JSON.stringify(res.packages.map((p) => [p.name, p.node, p.startedAt, p.endedAt]))}`);
    assert.deepEqual(await nodes.engine(1).services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' }), [], 'no build job is left');
  });

  const probe = hostileTree();
  probe.add(
    'base/probe',
    [
      'pkgname=probe',
      'pkgver=1',
      'fetch() { :; }',
      'build() {',
      '  echo "uid: $(id -u)"',
      '  echo "uid map: $(cat /proc/self/uid_map)"',
      '  grep -E "^(CapEff|NoNewPrivs)" /proc/self/status',
      '  for s in /var/run/docker.sock /run/docker.sock; do [ -e $s ] && echo "DOCKER-SOCKET $s"; done',
      '  touch /usr/iglu-probe 2>/dev/null && echo ROOT-WRITABLE',
      '  echo "tmp: $(df -k /tmp | awk \'NR == 2 { print $2 }\')"',
      // /proc/net is the reader's network namespace (proc(5))
      '  echo "interfaces: $(sed -n "3,\\$s/:.*//p" /proc/net/dev | tr -d " " | tr "\\n" " ")"',
      '}',
      'package() { mkdir -p "$pkgdir/usr/share"; echo ok > "$pkgdir/usr/share/probe"; }',
      '',
    ].join('\n'),
  );
  test("a spread job's build runs as uid 99999 with no capabilities and no_new_privs, no network but lo, no Docker socket, a read-only system and a bounded /tmp (no user namespace: see the README)", async () => {
    const r = await iglu([...withAll, '--workdir', workdir, '--json', 'chroot', 'build', '--spread', '--offline', '--tree', probe.dir, 'probe']);
    assert.equal(r.code, 0, r.stderr);
    const log = readFileSync(path.join(workdir, 'logs/probe.log'), 'utf8');
    assert.match(log, /uid: 99999\n/, log);
    assert.match(log, /uid map:\s+0\s+0\s+4294967295/, "the container's own user namespace: none of its own");
    assert.match(log, /CapEff:\s+0000000000000000/);
    assert.match(log, /NoNewPrivs:\s+1/);
    assert.doesNotMatch(log, /DOCKER-SOCKET|ROOT-WRITABLE/);
    assert.match(log, /tmp: 4194304\n/, 'a tmpfs /tmp of limits.tmpMiB (4096 MiB)');
    assert.match(log, /interfaces: lo \n/, 'distcc reaches the tasks through the forwarder, nothing else is reachable');
  });

  const second = mkdtempSync(path.join(tmpdir(), 'iglu-mn2-'));
  test("a second work directory on the same farm, without the sources, builds and fetches nothing: every package comes from the farm's store, with its log", async () => {
    // only the toolchain phase's packages: the chroot build root is made from them
    mkdirSync(path.join(second, 'out'));
    for (const f of readdirSync(path.join(workdir, 'out')).filter((f) => /^(musl|musl-headers|compiler-rt)\./.test(f)))
      cpSync(path.join(workdir, 'out', f), path.join(second, 'out', f));
    const res = await igluJson<Spread>([...withAll, '--workdir', second, 'chroot', 'build', '--offline', 'zlib', 'mksh', 'toybox']);
    assert.deepEqual(res.packages.map((p) => [p.name, p.action]).sort(), [
      ['mksh', 'from store'],
      ['toybox', 'from store'],
      ['zlib', 'from store'],
    ]);
    assert.match(readFileSync(path.join(second, 'logs', 'zlib.log'), 'utf8'), /iglu-job: on node iglu-n/, 'the log it was built with');
    assert.equal(readFileSync(path.join(second, 'out', 'zlib.1.2.13.tar.zst')).length > 0, true);
    const lock = path.join(second, 'sources', 'sources.lock.json');
    assert.ok(
      !existsSync(lock) || Object.keys((JSON.parse(readFileSync(lock, 'utf8')) as { sources?: object }).sources ?? {}).length === 0,
      'nothing was fetched',
    );
  });

  test('a second run with the same inputs attaches to the running job: it follows the log and takes the result', async () => {
    // busybox is not in the store yet: the second run fetches it — from the store, where the
    // first run put its source — before it looks for a running job
    const first = execa('node', [CLI, ...withAll, '--workdir', workdir, '--json', 'chroot', 'build', '--offline', 'busybox'], { reject: false });
    const jobs = async () => nodes.engine(1).services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build', 'iglu.pkg': 'busybox' });
    for (let i = 0; i < 1200 && (await jobs()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const r = await iglu([...withAll, '--workdir', second, '--json', 'chroot', 'build', '--offline', 'busybox']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as Spread;
    const own = await first;
    assert.equal(own.exitCode, 0, String(own.stderr));
    const built = (JSON.parse(String(own.stdout)) as Spread).packages.find((p) => p.name === 'busybox')!;
    assert.equal(built.action, 'built');
    const attached = res.packages.find((p) => p.name === 'busybox')!;
    assert.equal(attached.action, 'attached', r.stderr);
    assert.equal(attached.node, built.node, 'it names the node the job ran on');
    assert.match(r.stderr, /another run builds it on iglu-n[123]: following its log/);
    assert.match(readFileSync(path.join(second, 'logs', 'busybox.log'), 'utf8'), /iglupkg: busybox/, 'the log it followed');
    assert.equal(readFileSync(path.join(second, 'out', 'busybox.1.35.0.tar.zst')).length > 0, true);
    const pinned = (JSON.parse(readFileSync(path.join(second, 'sources', 'sources.lock.json'), 'utf8')) as { sources: Record<string, unknown> }).sources;
    assert.ok(
      Object.keys(pinned).some((u) => u.includes('busybox-1.35.0')),
      `the second work directory's cache had no busybox source and got it from the store, offline: ${Object.keys(pinned).join(' ')}`,
    );
  });

  test("two runs that build the same inputs at once: the job's name is a claim, one builds and the other attaches", async (t) => {
    const both = await Promise.all(
      [workdir, second].map((w) => iglu([...withAll, '--workdir', w, '--json', 'chroot', 'build', '--offline', '--rebuild', 'zlib'])),
    );
    for (const r of both) assert.equal(r.code, 0, r.stderr);
    const zlib = both.map((r) => (JSON.parse(r.stdout) as Spread).packages.find((p) => p.name === 'zlib')!);
    t.diagnostic(`zlib: ${zlib.map((p) => `${p.action} on ${p.node}`).join(', ')}`);
    assert.deepEqual(zlib.map((p) => p.action).sort(), ['attached', 'built'], 'built once on the farm');
    assert.equal(zlib[0]!.node, zlib[1]!.node);
    assert.deepEqual(await nodes.engine(1).services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' }), [], 'no build job is left');
  });

  test('a job may PUT only its own out.tar into a directory the manager made for it; nothing else below staging/', async () => {
    const store = `http://iglu-${farm}-store`;
    const put = (where: string) => `echo "${where} $(curl -s -o /dev/null -w '%{http_code}' -T /etc/hostname ${store}/${where})"`;
    const script = [
      put('staging/0123456789abcdef0123456789abcdef/out.tar'),
      put('staging/anything/big.bin'),
      put('staging/x'),
      put('cas/x'),
      `echo "GET $(curl -s -o /dev/null -w '%{http_code}' ${store}/staging/)"`,
    ].join('; ');
    const res = await nodes.engine(1).containers.runOnce({
      image: image.id,
      cmd: ['/bin/sh', '-c', script],
      labels: { [LABEL.farm]: farm, [LABEL.role]: 'test-client' },
      network,
      name: 'iglu-test-put',
      timeoutMs: 60_000,
    });
    const codes = new Map(
      res.output
        .trim()
        .split(/\r?\n/)
        .map((l) => l.trim().split(' '))
        .map(([k, v]) => [k ?? '', v ?? '']),
    );
    // nginx answers 500 (it cannot create the file: no directory, create_full_put_path off)
    assert.doesNotMatch(codes.get('staging/0123456789abcdef0123456789abcdef/out.tar') ?? '', /^2/, `a token the manager never opened: ${res.output}`);
    const volume = (await nodes.engine(1).volumes.list({ [LABEL.farm]: farm }))[0]!;
    assert.ok(!existsSync(path.join(volume.mountpoint, 'staging', '0123456789abcdef0123456789abcdef')), 'nothing was made');
    for (const k of ['staging/anything/big.bin', 'staging/x', 'cas/x', 'GET']) assert.equal(codes.get(k), '403', `${k}: ${res.output}`);
  });

  /** Starts a spread build of zlib (--rebuild) and kills it with SIGKILL once its job's task runs. */
  async function killedSpreadBuild(): Promise<void> {
    const child = execa('node', [CLI, ...withAll, '--workdir', workdir, 'chroot', 'build', '--spread', '--offline', '--rebuild', 'zlib'], { reject: false });
    const running = async () => {
      for (const s of await nodes.engine(1).services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build', 'iglu.pkg': 'zlib' })) {
        if ((await nodes.engine(1).tasks.list(s.id)).some((t) => t.state === 'running')) return true;
      }
      return false;
    };
    for (let i = 0; i < 1200 && !(await running()) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGKILL');
    await child;
  }

  test('kill -9 of a spread build: its job stays, and the rerun removes it (and its staging) and builds at once instead of attaching', async () => {
    await killedSpreadBuild();
    const left = await nodes.engine(1).services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' });
    assert.equal(left.length, 1, 'the killed run left its job');
    const token = left[0]!.labels['iglu.token'];
    assert.match(token ?? '', /^[0-9a-f]{32}$/, 'the job names its staging token');
    const r = await iglu([...withAll, '--workdir', workdir, '--json', 'chroot', 'build', '--offline', '--rebuild', 'zlib']);
    assert.equal(r.code, 0, r.stderr);
    const zlib = (JSON.parse(r.stdout) as Spread).packages.find((p) => p.name === 'zlib')!;
    assert.equal(zlib.action, 'built', "built, not attached to the dead run's job");
    assert.deepEqual(await nodes.engine(1).services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' }), [], 'no job is left');
    const volume = (await nodes.engine(1).volumes.list({ [LABEL.farm]: farm }))[0]!;
    assert.ok(!existsSync(path.join(volume.mountpoint, 'staging', token!)), "the dead job's staging directory is gone");
  });

  test('a node whose clang differs: its task is refused with the node named, the build runs on the others', async () => {
    // n3's task gets a clang that drops the .comment section (-fno-ident): other objects
    const engine3 = nodes.engine(3);
    const [task] = await engine3.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'distccd' });
    assert.ok(task, 'n3 runs a task');
    const sh = (script: string) => engine3.containers.exec(task.id, ['sh', '-c', script], { output: new PassThrough().resume() });
    assert.equal(
      await sh('rm /usr/bin/clang && printf \'#!/bin/sh\\nexec /usr/lib/llvm-14/bin/clang -fno-ident "$@"\\n\' >/usr/bin/clang && chmod 755 /usr/bin/clang'),
      0,
    );
    try {
      const res = await igluJson<ToolchainResult>([
        ...withAll,
        '--workdir',
        workdir,
        'toolchain',
        'build',
        '--offline',
        '--rebuild',
        '--tree',
        FIXTURES,
        'abscc',
      ]);
      assert.deepEqual(
        res.refused.map((r) => r.node),
        ['iglu-n3'],
      );
      assert.match(res.refused[0]!.reason, /its clang made a different object than the client's/);
      assert.doesNotMatch(res.distccHosts, new RegExp(res.refused[0]!.ip.replace(/\./g, '\\.')), "n3 is not in the build's DISTCC_HOSTS");
      assert.equal(res.compiles.byNode['iglu-n3'], undefined);
      const text = await iglu([...withAll, '--workdir', workdir, 'toolchain', 'build', '--offline', '--rebuild', '--tree', FIXTURES, 'abscc']);
      assert.match(text.stdout, /warning: refused the task on iglu-n3 \(\S+\): its clang made a different object/);
    } finally {
      await sh('ln -sf ../lib/llvm-14/bin/clang /usr/bin/clang');
    }
  });

  test('a worker node killed during the toolchain build: distcc backs off and the build completes', async () => {
    // compiler-rt alone (256 compiles, musl-headers from before): the same back-off as musl's 1,400 at a fifth of the time
    const child = execa('node', [CLI, ...withAll, '--workdir', workdir, 'toolchain', 'build', '--offline', '--rebuild', '--json', 'compiler-rt'], {
      reject: false,
    });
    const clients = async () => (await nodes.engine(1).containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'client' })).length;
    for (let i = 0; i < 600 && (await clients()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 8_000)); // into the compiles
    await nodes.crash(3);
    const res = await child;
    assert.equal(res.exitCode, 0, String(res.stderr));
    const out = JSON.parse(String(res.stdout)) as ToolchainResult;
    assert.deepEqual(
      out.packages.map((p) => [p.name, p.action]),
      [
        ['musl-headers', 'up to date'],
        ['compiler-rt', 'built'],
      ],
    );
    const members = await execa('sh', ['-c', `zstd -dc ${out.packages[1]!.tarball} | tar -t`]);
    assert.match(members.stdout, /libclang_rt\.builtins[^\n]*\.a/, 'the builtins archive is in the package');
    assert.ok((out.compiles.byNode['iglu-n2'] ?? 0) > 0, `per node: ${JSON.stringify(out.compiles.byNode)}`);
  });

  test('a node crashed under a spread build: its job is submitted again on a live node and the build completes', async (t) => {
    const child = execa('node', [CLI, ...withAll, '--workdir', workdir, '--json', 'chroot', 'build', '--offline', '--rebuild', 'zlib', 'mksh', 'toybox'], {
      reject: false,
    });
    let crashed = false;
    for (let i = 0; i < 1200 && !crashed && child.exitCode === null; i++) {
      const status = await nodes.engine(1).services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' });
      for (const s of status) {
        const task = (await nodes.engine(1).tasks.list(s.id))[0];
        const onN2 = task?.state === 'running' && (await nodes.engine(1).nodes.list()).find((n) => n.id === task.nodeId)?.hostname === 'iglu-n2';
        if (onN2 && !crashed) {
          await new Promise((r) => setTimeout(r, 2000)); // into the build
          await nodes.crash(2);
          crashed = true;
        }
      }
      if (!crashed) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(crashed, 'a job ran on iglu-n2');
    const res = await child;
    assert.equal(res.exitCode, 0, String(res.stderr));
    const out = JSON.parse(String(res.stdout)) as Spread;
    assert.deepEqual(
      out.packages.map((p) => p.action),
      ['built', 'built', 'built'],
    );
    t.diagnostic(
      `after the crash: ${out.packages.map((p) => `${p.name} on ${p.node}, ${p.attempts} tries, ${p.startedAt?.slice(11, 19)}-${p.endedAt?.slice(11, 19)}`).join('; ')}`,
    );
    const retried = out.packages.filter((p) => (p.attempts ?? 1) > 1);
    assert.ok(retried.length >= 1, `attempts: ${JSON.stringify(out.packages.map((p) => [p.name, p.node, p.attempts]))}`);
    for (const p of retried) {
      assert.equal(p.node, 'iglu-n1', `${p.name} ended on the live node`);
      // the swarm says it either way: the node is down, or it rejects the task ("assigned node no longer meets constraints")
      assert.match(readFileSync(p.log, 'utf8'), /try 1 was lost \((its node went down|task rejected: [^)]+)\); submitting it again/);
    }
  });

  test('farm down --leave removes everything, a job a killed spread build left among it, and every engine leaves the swarm', async () => {
    await killedSpreadBuild();
    const down = await igluJson<FarmDownResult>([...withAll, 'farm', 'down', '--leave']);
    assert.deepEqual(down.services.filter((n) => !n.includes('-build-')).sort(), [`${farm}_distccd`, `iglu-${farm}-store`].sort());
    assert.equal(down.services.filter((n) => n.includes('-build-zlib-')).length, 1, `the killed run's job was removed too: ${down.services.join(' ')}`);
    assert.deepEqual(down.networks, [network]);
    assert.equal(down.left.length, 1, 'n2 and n3 were crashed: they cannot leave');
    for (const i of [1]) {
      const e = nodes.engine(i);
      assert.equal((await e.info()).swarm.state, 'inactive', `n${i} left`);
      assert.deepEqual(await e.containers.list({ [LABEL.farm]: farm }), [], `no farm containers on n${i}`);
      assert.deepEqual(await e.networks.list({ [LABEL.farm]: farm }), [], `no farm networks on n${i}`);
    }
  });
});

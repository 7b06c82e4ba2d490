import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { availableParallelism, totalmem } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { Engine, resolveEndpoint } from '../../src/docker/index.js';
import type { FarmDownResult } from '../../src/farm/down.js';
import type { FarmStatus } from '../../src/farm/status.js';
import { parseConfig } from '../../src/config/load.js';
import { farmSettings } from '../../src/farm/settings.js';
import { farmUpSteps, rollbackUp, type FarmUpResult, type UpState } from '../../src/farm/up.js';
import { runSteps } from '../../src/commands/progress.js';
import type { FarmImage } from '../../src/image/build.js';
import { LABEL } from '../../src/labels.js';
import { runJob } from '../../src/spread/job.js';
import { CLI, iglu, igluJson, scratchDir, uniqueName, writeConfig } from '../support/cli.js';
import { compileThroughFarm } from '../support/compile.js';

// A real single-node farm on the host's Docker Engine. The test makes its own uniquely
// named farm and removes it; it leaves the swarm only if it found the engine in none.
const engine = new Engine(resolveEndpoint(undefined));
const farm = uniqueName('t');
const network = `${farm}-net`;
const config = writeConfig(`farm:\n  name: ${farm}\n  network: ${network}\n  readyTimeout: 90\n`);
const args = ['--config', config];
let swarmBefore = 'inactive';
let image: FarmImage;

async function leftovers(): Promise<{ services: number; networks: number; containers: number }> {
  const label = { [LABEL.farm]: farm };
  const swarmActive = (await engine.info()).swarm.state === 'active';
  return {
    services: swarmActive ? (await engine.services.list(label)).length : 0,
    networks: (await engine.networks.list(label)).length,
    containers: (await engine.containers.list(label)).length,
  };
}

/** Runs `script` in a labelled client container from the farm image on the farm's overlay (the host has no route into it), with `env`. */
function rawClient(name: string, script: string, env: Record<string, string>) {
  return engine.containers.runOnce({
    image: image.id,
    cmd: ['/bin/sh', '-c', script],
    env,
    labels: { [LABEL.farm]: farm, [LABEL.role]: 'test-client' },
    network,
    name,
    timeoutMs: 120_000,
  });
}

describe('single-node farm on a real Docker Engine', { timeout: 900_000 }, () => {
  before(async () => {
    swarmBefore = (await engine.info()).swarm.state;
    image = await igluJson<FarmImage>([...args, 'image', 'build']);
  });

  after(async () => {
    await iglu([...args, 'farm', 'down', '--purge', ...(swarmBefore === 'inactive' ? ['--leave'] : [])]); // --purge: the package store's volume too
  });

  test('image build is reused on a rerun with the same inputs', async () => {
    const again = await igluJson<FarmImage>([...args, 'image', 'build']);
    assert.equal(again.reused, true);
    assert.equal(again.id, image.id);
    assert.match(again.ref, /^iglu\/abyss:[0-9a-f]{12}$/);
    const inspected = await engine.images.inspect(again.ref);
    assert.equal(inspected?.labels[LABEL.role], 'abyss');
  });

  let up: FarmUpResult;
  test('farm up: 2 tasks running and accepting compiles, DISTCC_HOSTS printed', async () => {
    up = await igluJson<FarmUpResult>([...args, 'farm', 'up', '--replicas', '2']);
    assert.equal(up.hosts.length, 2);
    // distcc(1): the client's own slots first, then each task with its share of the node's CPUs
    const cpus = availableParallelism();
    const share = Math.max(1, Math.floor(cpus / 2));
    assert.match(
      up.distccHosts,
      new RegExp(`^--localslots=${cpus} --localslots_cpp=${2 * cpus} \\d+\\.\\d+\\.\\d+\\.\\d+/${share} \\d+\\.\\d+\\.\\d+\\.\\d+/${share}$`),
    );
    assert.equal(up.slots, 2 * share, "two tasks share the node's CPUs");
    assert.equal(up.image.id, image.id);
    const service = await engine.services.get(`${farm}_distccd`);
    assert.equal(service?.labels[LABEL.farm], farm);
    const spec = service.spec as { TaskTemplate: { ContainerSpec: { Image: string; Init: boolean } }; EndpointSpec: { Mode: string } };
    assert.equal(spec.TaskTemplate.ContainerSpec.Image, image.id, 'the service names its image by ID');
    assert.equal(spec.EndpointSpec.Mode, 'dnsrr');
    const net = await engine.networks.get(network);
    assert.equal(net?.driver, 'overlay');
    assert.equal(net?.attachable, true);
  });

  test('a C file compiled from a client container on the overlay ran on the farm tasks', async () => {
    const res = await compileThroughFarm(engine, {
      imageId: image.id,
      network,
      distccHosts: up.distccHosts,
      files: 6,
      labels: { [LABEL.farm]: farm, [LABEL.role]: 'test-client' },
    });
    assert.equal(res.exitCode, 0, res.output);
    assert.match(res.output, /objects: 6/);
    assert.equal(res.placements.length, 6, res.output);
    const taskIps = new Set(up.hosts.map((h) => h.ip));
    for (const p of res.placements) assert.ok(taskIps.has(p.host), `${p.file} compiled on ${p.host}, not a farm task`);
  });

  test("farm top: each task's counters read live over the overlay; --json, --prom, and a live view that Ctrl-C ends", async () => {
    type Stats = { farm: string; tasks: { ip: string; node: string; up: boolean; done: number; running: number; slots: number }[] };
    const snap = await igluJson<Stats>([...args, 'farm', 'top', '--once']);
    assert.deepEqual(snap.tasks.map((t) => t.ip).sort(), up.hosts.map((h) => h.ip).sort());
    assert.ok(
      snap.tasks.every((t) => t.up && t.slots > 0),
      JSON.stringify(snap.tasks),
    );
    assert.ok(snap.tasks.reduce((n, t) => n + t.done, 0) >= 6, `the six compiles of the test before are counted: ${JSON.stringify(snap.tasks)}`);
    const prom = await iglu([...args, 'farm', 'status', '--prom']);
    assert.equal(prom.code, 0, prom.stderr);
    assert.match(prom.stdout, /^# TYPE iglu_distccd_jobs_done_total counter$/m);
    for (const h of up.hosts)
      assert.match(prom.stdout, new RegExp(`^iglu_distccd_up\\{farm="${farm}",node="[^"]+",task="[^"]+",ip="${h.ip.replace(/\./g, '\\.')}"\\} 1$`, 'm'));
    const live = execa('node', [CLI, ...args, 'farm', 'top', '--interval', '0.5'], { reject: false, stdin: 'ignore' });
    await sleep(4000);
    live.kill('SIGINT');
    const r = await live;
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.ok((String(r.stdout).match(/^farm .* jobs running, \d+ done/gm) ?? []).length >= 2, 'refreshed');
    assert.deepEqual(await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'stats' }), [], "the reader's container is removed");
  });

  test('distccd runs compiles only: plugins, -save-temps, -specs, -B and response files are refused through the protocol', async () => {
    const raw = readFileSync(path.resolve(import.meta.dirname, '../../../test/support/distcc-raw.py'), 'utf8');
    const host = up.hosts[0]!.ip;
    const cases = [
      ['clang', '-c', 'x.i', '-o', 'x.o'],
      ['clang', '-Xclang', '-load', '-Xclang', '/tmp/p.so', '-c', 'x.i', '-o', 'x.o'],
      ['clang', '-fplugin=/tmp/p.so', '-c', 'x.i', '-o', 'x.o'],
      ['clang', '-fpass-plugin=/tmp/p.so', '-c', 'x.i', '-o', 'x.o'],
      ['clang', '-save-temps', '-c', 'x.i', '-o', 'x.o'],
      ['clang', '-specs=/tmp/s', '-c', 'x.i', '-o', 'x.o'],
      ['clang', '-B/tmp', '-c', 'x.i', '-o', 'x.o'],
      ['clang', '@/tmp/args', '-c', 'x.i', '-o', 'x.o'],
      // issue 21's three writers: each file appeared in the task's /tmp before the allow-list
      ['clang', '-c', 'x.i', '-o', 'x.o', '--serialize-diagnostics', '/tmp/p1'],
      ['clang', '-c', 'x.i', '-o', 'x.o', '-Xclang', '-stats-file=/tmp/p2'],
      ['clang', '-c', 'x.i', '-o', 'x.o', '-ftime-report', '-mllvm', '-info-output-file=/tmp/p3'],
    ];
    const script = cases.map((c) => `echo "== ${c.join(' ')}"; python3 -c "$IGLU_RAW" ${host} 3632 ${c.join(' ')}`).join('\n');
    const res = await rawClient('iglu-test-raw', script, { IGLU_RAW: raw });
    const answers = res.output.split('== ').slice(1);
    assert.equal(answers.length, cases.length, res.output);
    assert.match(answers[0]!, /status 0\s+stderr\s+object [1-9]/, 'a plain compile is served');
    for (const a of answers.slice(1)) {
      // refused by the guard, or (-fplugin=, -specs=) by distccd's own argument check, which
      // drops the connection: a clean close or, when the request was not read yet, a reset
      const droppedByDistccd = /^clang -(fplugin|specs)=/.test(a) && /status None/.test(a);
      assert.ok(/iglu compile guard: refused/.test(a) || droppedByDistccd, a);
      assert.match(a, /object 0/, a);
    }
    // task containers carry their own labels, not the farm image's
    const tasks = await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'distccd' });
    assert.ok(tasks.length > 0);
    for (const t of tasks) assert.equal(t.labels[LABEL.run], `service:${farm}_distccd`);
    for (const t of tasks) {
      const ls = new PassThrough();
      let seen = '';
      ls.on('data', (c: Buffer) => {
        seen += c.toString();
      });
      await engine.containers.exec(t.id, ['ls', '-a', '/tmp'], { output: ls });
      assert.doesNotMatch(seen, /\bp[123]\b/, `nothing was written into the task's /tmp: ${seen}`);
    }
    assert.equal((await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'abyss' })).length, 0);
  });

  test("the assembler on a task reads none of the task's files and cannot fill its memory (issue 33): .incbin fails, nothing comes back; each task has memory and pids limits", async () => {
    const raw = readFileSync(path.resolve(import.meta.dirname, '../../../test/support/distcc-raw.py'), 'utf8');
    const tasks = await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'distccd' });
    // what a task holds that a compile must not bring back: its hostname, /etc/passwd's first line
    const secrets = ['root:x:0:0'];
    for (const t of tasks) {
      const out = new PassThrough();
      let text = '';
      out.on('data', (c: Buffer) => (text += c.toString()));
      await engine.containers.exec(t.id, ['cat', '/etc/hostname'], { output: out });
      secrets.push(text.trim());
    }
    const cases = [
      'int f(void) { return 42; }\n__asm__(".incbin \\"/etc/hostname\\"");\n',
      '__asm__(".incbin \\"/etc/passwd\\"");\n',
      // no ".incbin" in the text: a macro spells it (why no check of the source would do)
      '__asm__(".macro m a\\n.\\\\a \\"/etc/passwd\\"\\n.endm\\nm incbin");\n',
      '__asm__(".incbin \\"/dev/zero\\",0,1");\n',
      // 100 x 58 MB of the compiler's own library (readable): the compile's address space limit stops it
      '__asm__(".rept 100\\n.incbin \\"/usr/lib/llvm-14/lib/libclang-cpp.so.14\\"\\n.endr");\n',
    ];
    const host = up.hosts[0]!.ip;
    const script = cases.map((_, i) => `echo "== case ${i}"; RAW_SRC="$SRC${i}" python3 -c "$IGLU_RAW" ${host} 3632 clang -c x.i -o x.o`).join('\n');
    const started = Date.now();
    const res = await rawClient('iglu-test-incbin', script, {
      IGLU_RAW: raw,
      RAW_FIND: secrets.join('\n'),
      ...Object.fromEntries(cases.map((c, i) => [`SRC${i}`, c])),
    });
    const answers = res.output.split('== case ').slice(1);
    assert.equal(answers.length, cases.length, res.output);
    for (const a of answers) {
      assert.match(a, /status [1-9]\d*/, `the compile fails: ${a}`);
      assert.match(a, /found no/, `nothing of the task comes back: ${a}`);
    }
    assert.match(answers[0]!, /Could not find incbin file '\/etc\/hostname'/);
    assert.match(answers[3]!, /Could not find incbin file '\/dev\/zero'/);
    assert.match(answers[4]!, /out of memory/, answers[4]);
    assert.ok(Date.now() - started < 60_000, `the five answers took ${(Date.now() - started) / 1000} s`);
    // the service and its tasks carry the limits (Engine API 1.41: Resources.Limits.Pids)
    const limits = ((await engine.services.get(`${farm}_distccd`))!.spec as { TaskTemplate: { Resources: { Limits: Record<string, number> } } }).TaskTemplate
      .Resources.Limits;
    assert.equal(limits.Pids, 2048);
    assert.ok(limits.MemoryBytes! > 0 && limits.MemoryBytes! < totalmem(), JSON.stringify(limits));
    const inspected = await execa('docker', ['inspect', '--format', '{{.HostConfig.PidsLimit}} {{.HostConfig.Memory}}', tasks[0]!.id]);
    assert.equal(inspected.stdout.trim(), `2048 ${limits.MemoryBytes}`);
    assert.equal((await engine.containers.list({ [LABEL.farm]: farm, [LABEL.role]: 'distccd' })).length, tasks.length, 'every task still runs');
  });

  test('a second farm up with nothing changed changes nothing', async () => {
    const again = await igluJson<FarmUpResult>([...args, 'farm', 'up', '--replicas', '2']);
    assert.equal(again.service.change, 'unchanged');
    assert.equal(again.network.created, false);
    assert.equal(again.swarm, 'existing');
    assert.equal(again.distccHosts, up.distccHosts);
  });

  test('farm scale 3, then status --json shows 3 running tasks and the same DISTCC_HOSTS', async () => {
    const scaled = await igluJson<{ hosts: unknown[]; distccHosts: string }>([...args, 'farm', 'scale', '3']);
    assert.equal(scaled.hosts.length, 3);
    const status = await igluJson<FarmStatus>([...args, 'farm', 'status']);
    assert.equal(status.tasks.length, 3);
    assert.ok(status.tasks.every((t) => t.state === 'running' && t.ip));
    assert.equal(status.distccHosts, scaled.distccHosts);
    assert.equal(status.service?.replicas, 3);
    assert.ok(status.nodes.length >= 1);
    // three tasks on this one node share its CPUs in DISTCC_HOSTS; their daemons (each
    // --jobs $(nproc)) would accept more, and status says so
    const cpus = status.nodes[0]!.cpus;
    const status3 = status as FarmStatus & { hosts: { limit: number }[] };
    assert.deepEqual(
      status3.hosts.map((h) => h.limit),
      [1, 2, 3].map(() => Math.max(1, Math.floor(cpus / 3))),
    );
    assert.match(
      status.distccHosts,
      new RegExp(`^--localslots=${cpus} --localslots_cpp=${2 * cpus} \\S+/\\d+ `),
      "the client's own slots first; its node runs tasks, so no localhost entry",
    );
    assert.doesNotMatch(status.distccHosts, /,lzo|localhost/, "every task is on the client's node: no compression");
    assert.deepEqual(status.oversubscribed, [{ hostname: status.nodes[0]!.hostname, tasks: 3, accepts: 3 * cpus, cpus }]);
    const text = await iglu([...args, 'farm', 'status']);
    assert.match(
      text.stdout,
      new RegExp(`warning: node ${status.nodes[0]!.hostname} runs 3 tasks whose daemons accept ${3 * cpus} jobs on ${cpus} CPUs: replicas oversubscribe it`),
    );
    // scale wrote the spec farm up would: the same settings are no change for farm up
    const up3 = await igluJson<FarmUpResult>([...args, 'farm', 'up', '--replicas', '3']);
    assert.equal(up3.service.change, 'unchanged');
  });

  test("Ctrl-C during a farm up's readiness wait: exit 130 at once, its service and network rolled back", async () => {
    const other = uniqueName('int');
    const cfg = writeConfig(`farm:\n  name: ${other}\n  network: ${other}-net\n  readyTimeout: 90\n`);
    const child = execa('node', [CLI, '--config', cfg, 'farm', 'up', '--replicas', '6'], { reject: false, stdin: 'ignore' });
    for (let i = 0; i < 600 && !(await engine.services.get(`${other}_distccd`)); i++) await sleep(100);
    assert.ok(await engine.services.get(`${other}_distccd`), 'farm up made its service and waits for its tasks');
    const interruptedAt = Date.now();
    child.kill('SIGINT');
    const r = await child;
    assert.equal(r.exitCode, 130, String(r.stderr));
    assert.match(String(r.stderr), /interrupted/);
    const seconds = (Date.now() - interruptedAt) / 1000;
    assert.ok(seconds < 30, `exited ${seconds} s after Ctrl-C (the readiness wait allows 90)`);
    assert.equal(await engine.services.get(`${other}_distccd`), undefined, 'the service is removed');
    assert.deepEqual(await engine.networks.list({ [LABEL.farm]: other }), [], 'the network is removed');
  });

  test("a rollback after Ctrl-C in the middle of the service's creation waits for it, then removes service and network", async () => {
    const other = uniqueName('mid');
    const farmConfig = farmSettings(parseConfig(`farm:\n  name: ${other}\n  network: ${other}-net\n`, 'iglu.yaml').farm, {});
    const ctrlC = new AbortController();
    // Ctrl-C arrives just after the service step sent its create call, before the answer
    const steps = farmUpSteps(engine, farmConfig).map((st) =>
      st.title.startsWith('service ')
        ? {
            ...st,
            run: (s: UpState, out: (line: string) => void) => {
              const work = st.run(s, out);
              ctrlC.abort();
              return work;
            },
          }
        : st,
    );
    const state: UpState = {};
    await assert.rejects(runSteps(steps, state, ctrlC.signal), /interrupted/);
    await rollbackUp(engine, farmConfig, state);
    assert.equal(state.change, 'created', 'the create call finished before the rollback looked');
    assert.equal(await engine.services.get(`${other}_distccd`), undefined, 'the service is removed');
    assert.deepEqual(await engine.networks.list({ [LABEL.farm]: other }), [], 'the network is removed');
  });

  test('scale 0 and a negative count are usage errors that change nothing', async () => {
    for (const n of ['0', '-2']) {
      const r = await iglu([...args, 'farm', 'scale', n]);
      assert.equal(r.code, 2, r.stderr);
    }
    assert.equal((await engine.services.get(`${farm}_distccd`))?.replicas, 3);
  });

  test('farm down removes every object of the farm', async () => {
    const down = await igluJson<FarmDownResult>([...args, 'farm', 'down']);
    assert.deepEqual(down.services, [`${farm}_distccd`]);
    assert.deepEqual(down.networks, [network]);
    assert.deepEqual(await leftovers(), { services: 0, networks: 0, containers: 0 });
    const again = await igluJson<FarmDownResult>([...args, 'farm', 'down']);
    assert.deepEqual(again.services, [], 'a second down finds nothing and succeeds');
  });

  /** Starts `chroot build --spread` of a recipe that sleeps, and kills it with SIGKILL once its job's task runs. */
  async function killedSpreadBuild(spread: string[], tree: string): Promise<void> {
    const child = execa('node', [CLI, ...spread, 'chroot', 'build', '--tree', tree, '--spread', '--rebuild', 'sleepy'], { reject: false, stdin: 'ignore' });
    const running = async () => {
      for (const s of await engine.services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' })) {
        if ((await engine.tasks.list(s.id)).some((t) => t.state === 'running')) return true;
      }
      return false;
    };
    for (let i = 0; i < 600 && !(await running()) && child.exitCode === null; i++) await sleep(200);
    child.kill('SIGKILL');
    const r = await child;
    assert.equal(r.signal, 'SIGKILL', `the build was killed mid-build, not ended:\n${String(r.stderr)}`);
  }

  /** The state issue 33 measured after a kill: the swarm deleted the network while the killed build's job held it, and this engine kept its copy. */
  async function staleNetwork(): Promise<void> {
    for (const s of await engine.services.list({ [LABEL.farm]: farm })) await engine.services.remove(s.id);
    await sleep(3000);
    await engine.networks.remove(network);
    await sleep(2000);
    assert.ok(await engine.networks.get(network), 'the engine keeps the network the swarm deleted');
  }

  test('kill -9 of a spread build: farm down and farm up both succeed, also when the engine kept the network the swarm had deleted; a rejected job is no lost node', async () => {
    // a one-node farm without the toolchain phase (toolchain.packages: []) and a recipe that sleeps
    const tree = scratchDir('iglu-kill-tree-');
    mkdirSync(path.join(tree, 't/sleepy'), { recursive: true });
    writeFileSync(path.join(tree, 't/sleepy/build.sh'), 'pkgname=sleepy\npkgver=1\nfetch() { :; }\nbuild() { sleep 300; }\npackage() { :; }\n');
    const conf = writeConfig(`farm:\n  name: ${farm}\n  network: ${network}\n  readyTimeout: 90\ntoolchain:\n  packages: []\n`);
    const spread = ['--config', conf, '--workdir', scratchDir('iglu-kill-')];
    await igluJson<FarmUpResult>(['--config', conf, 'farm', 'up', '--replicas', '1']);

    // a job the swarm rejects (here the node: no such image) is tried again as a rejection, never as a lost node
    const jobLog = path.join(scratchDir('iglu-reject-'), 'rej.log');
    const job = { farm, pkg: 'rej', inputs: 'f'.repeat(64), attempt: 1, image: `sha256:${'0'.repeat(64)}`, network, env: {}, cpus: 1 };
    await assert.rejects(
      runJob(engine, job, { logFile: jobLog, retries: 0, rejections: 1, rejectionBackoffMs: 50, pollMs: 200 }),
      /rej: its build job was rejected 2 times \(last: task rejected: No such image/,
    );
    assert.match(readFileSync(jobLog, 'utf8'), /^iglu: rej's try 1 was rejected \(task rejected: No such image: sha256:0+\); submitting it again in 0\.05 s\n/);
    assert.deepEqual(await engine.services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' }), [], 'each rejected try is removed');

    await killedSpreadBuild(spread, tree);
    // the swarm leaves the job's container running once its service is removed: down used to wait for it until its timeout
    const t0 = Date.now();
    const down = await igluJson<FarmDownResult>(['--config', conf, 'farm', 'down', '--purge']);
    assert.ok(Date.now() - t0 < 45_000, `farm down took ${Date.now() - t0} ms`);
    assert.equal(down.orphanJobs.length, 1, "the killed build's job container, removed with force");
    assert.deepEqual(await leftovers(), { services: 0, networks: 0, containers: 0 });
    await igluJson<FarmUpResult>(['--config', conf, 'farm', 'up', '--replicas', '1']);

    // farm up on the stale copy: the service used to fail with "network … not found"
    await killedSpreadBuild(spread, tree);
    await staleNetwork();
    const up = await iglu(['--config', conf, 'farm', 'up', '--replicas', '1']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr + up.stdout, new RegExp(`network ${network} was kept by this engine after the swarm had deleted it: cleared`));

    // farm down on the stale copy: it used to wait for it to disappear until its timeout. Once the
    // job's container is gone the engine sometimes drops its copy itself, else down clears it
    await killedSpreadBuild(spread, tree);
    await staleNetwork();
    const t1 = Date.now();
    const again = await iglu(['--config', conf, 'farm', 'down', '--purge']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(Date.now() - t1 < 45_000, `farm down took ${Date.now() - t1} ms`);
    assert.match(again.stdout, /removed 1 build job containers the swarm left running/);
    assert.deepEqual(await leftovers(), { services: 0, networks: 0, containers: 0 });
  });

  test("the farm is a stack: a user's stack file adds resources and labels; docker stack services, ps and rm see it", async () => {
    const userStack = path.join(scratchDir('iglu-stack-'), 'farm.yaml');
    writeFileSync(
      userStack,
      'services:\n  distccd:\n    deploy:\n      resources:\n        limits: { cpus: "1", memory: 1g }\n      labels: { team: toolchain }\n',
    );
    const withStack = ['--config', writeConfig(`farm:\n  name: ${farm}\n  network: ${network}\n  readyTimeout: 90\n  stack: ${userStack}\n`)];
    const made = await igluJson<FarmUpResult>([...withStack, 'farm', 'up']);
    assert.equal(made.service.change, 'created');
    const service = await engine.services.get(`${farm}_distccd`);
    const spec = service!.spec as { TaskTemplate: { Resources: { Limits: Record<string, number> } }; Labels: Record<string, string> };
    assert.deepEqual(spec.TaskTemplate.Resources.Limits, { NanoCPUs: 1e9, MemoryBytes: 2 ** 30, Pids: 2048 });
    assert.equal(spec.Labels.team, 'toolchain');
    assert.equal(service!.global, true, "global: iglu's stack file and config default");
    assert.equal((await igluJson<FarmUpResult>([...withStack, 'farm', 'up'])).service.change, 'unchanged', 'the same stack is no update');
    const docker = (a: string[]) => execa('docker', a, { reject: false });
    assert.equal((await docker(['stack', 'services', farm, '--format', '{{.Name}}'])).stdout.trim(), `${farm}_distccd`);
    assert.match((await docker(['stack', 'ps', farm, '--format', '{{.Name}} {{.CurrentState}}'])).stdout, new RegExp(`^${farm}_distccd\\.\\S+ Running`, 'm'));
    const rm = await docker(['stack', 'rm', farm]);
    assert.equal(rm.exitCode, 0, String(rm.stderr));
    assert.equal(await engine.services.get(`${farm}_distccd`), undefined, 'docker stack rm removed the service');
    for (let i = 0; i < 300 && (await engine.networks.get(network)); i++) await sleep(100);
    assert.equal(await engine.networks.get(network), undefined, 'and the overlay network');
    await iglu([...args, 'farm', 'down']); // the tasks' containers, if any are still stopping
    assert.deepEqual(await leftovers(), { services: 0, networks: 0, containers: 0 });
  });

  test('farm up with a missing image fails before making anything', async () => {
    const r = await iglu([...args, 'farm', 'up', '--image', 'iglu/abyss:doesnotexist']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /farm image iglu\/abyss:doesnotexist is not on the Docker Engine/);
    assert.match(r.stderr, /hint: .*iglu image build/);
    assert.deepEqual(await leftovers(), { services: 0, networks: 0, containers: 0 });
  });

  test('farm up whose tasks never get ready rolls back the service and network it made', async () => {
    const tight = writeConfig(`farm:\n  name: ${farm}\n  network: ${network}\n  readyTimeout: 0.2\n`);
    const r = await iglu(['--config', tight, 'farm', 'up']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /timed out after 0.2 s waiting for/);
    assert.deepEqual(await leftovers(), { services: 0, networks: 0, containers: 0 });
  });

  test('an unknown node endpoint is a clear error and leaves nothing', async () => {
    const bad = writeConfig(`farm:\n  name: ${farm}\n  network: ${network}\n  nodes:\n    - endpoint: unix:///nonexistent/docker.sock\n`);
    const r = await iglu(['--config', bad, 'farm', 'up']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /node endpoint unix:\/\/\/nonexistent\/docker.sock does not answer/);
    assert.deepEqual(await leftovers(), { services: 0, networks: 0, containers: 0 });
  });
});

describe('image build --from-tar with bad input', { timeout: 120_000 }, () => {
  test('a file that is not a tarball: exit 1, clear message, no image tagged', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/iglu-notar-');
    writeFileSync(`${dir}/rootfs.tar`, 'this is not a tarball\n');
    const before = (await engine.images.list({ [LABEL.role]: 'abyss' })).length;
    const r = await iglu(['image', 'build', '--from-tar', `${dir}/rootfs.tar`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the Docker Engine could not import .*rootfs\.tar/);
    assert.match(r.stderr, /hint: give --from-tar a root filesystem tarball/);
    assert.equal((await engine.images.list({ [LABEL.role]: 'abyss' })).length, before);
  });

  test('a rootfs tarball is imported, labelled, tagged by its sha256, and reused', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { execa } = await import('execa');
    const dir = mkdtempSync('/tmp/iglu-tar-');
    // a tiny real rootfs: busybox-free, just a file, enough for the Engine to import
    await execa('sh', ['-c', `mkdir -p ${dir}/root/etc && echo iglu > ${dir}/root/etc/hostname && tar -C ${dir}/root -cf ${dir}/rootfs.tar .`]);
    const first = await igluJson<FarmImage>(['image', 'build', '--from-tar', `${dir}/rootfs.tar`]);
    try {
      assert.match(first.ref, /^iglu\/abyss:[0-9a-f]{12}$/);
      const again = await igluJson<FarmImage>(['image', 'build', '--from-tar', `${dir}/rootfs.tar`]);
      assert.equal(again.reused, true);
      assert.equal(again.id, first.id);
      assert.equal((await engine.images.inspect(first.id))?.labels[LABEL.role], 'abyss');
    } finally {
      await engine.images.remove(first.id);
    }
  });
});

describe('image build interrupted', { timeout: 180_000 }, () => {
  test("Ctrl-C during debootstrap: exit 130 at once, debootstrap's processes stopped, nothing mounted or left, no image", async () => {
    const { readdirSync, readFileSync: read } = await import('node:fs');
    const workdir = scratchDir('iglu-imgint-');
    // a package list no other test uses: a new content hash, so debootstrap really runs
    const cfg = writeConfig(`workdir: ${workdir}\nimage:\n  packages: [distcc, bc]\n`);
    const running = async () => (await execa('pgrep', ['-f', `debootstrap .*${workdir}`], { reject: false })).exitCode === 0;
    const imagesBefore = (await engine.images.list({ [LABEL.role]: 'abyss' })).length;
    const child = execa('node', [CLI, '--config', cfg, 'image', 'build'], { reject: false, stdin: 'ignore' });
    for (let i = 0; i < 600 && !(await running()); i++) await sleep(100);
    assert.ok(await running(), 'debootstrap runs');
    await sleep(3000);
    const interruptedAt = Date.now();
    child.kill('SIGINT');
    const r = await child;
    assert.equal(r.exitCode, 130, String(r.stderr));
    assert.match(String(r.stderr), /interrupted/);
    assert.ok(Date.now() - interruptedAt < 20_000, 'stopped at once, not when debootstrap would have ended');
    assert.equal(await running(), false, 'no debootstrap process is left');
    assert.equal((await execa('pgrep', ['-f', `${workdir}/image/rootfs-`], { reject: false })).exitCode, 1, 'nor any of its children');
    assert.deepEqual(
      read('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(workdir)),
      [],
      'nothing is left mounted',
    );
    assert.deepEqual(
      readdirSync(path.join(workdir, 'image')).filter((f) => f.startsWith('rootfs-')),
      [],
      'the scratch root is removed',
    );
    assert.equal((await engine.images.list({ [LABEL.role]: 'abyss' })).length, imagesBefore, 'no image was imported');
  });
});

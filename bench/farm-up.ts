/**
 * bench/farm-up: time from `iglu farm up` to every task accepting compiles, with a warm
 * image and an existing swarm, for 1 node (the host engine) and 3 nodes (engines in
 * network namespaces), next to the same steps done with raw Engine API calls in the same
 * run: create the overlay, create the service (image by ID, dnsrr), poll tasks until
 * running, run one probe container on the overlay that compiles through every task.
 * Prints medians and the ratio iglu/raw. Needs root and a built farm image.
 *
 *   node dist/bench/farm-up.js [--rounds N] [--nodes 1|3|both]
 */
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { CLI, writeConfig } from '../test/support/cli.js';
import { NetnsEngines } from '../test/support/netns-engines.js';
import { api } from './raw-api.js';
import { median } from './median.js';

const argv = process.argv.slice(2);
const rounds = Number(argv[argv.indexOf('--rounds') + 1] || 3) || 3;
const which = argv.includes('--nodes') ? argv[argv.indexOf('--nodes') + 1] : 'both';

const iglu = (args: string[]) => execa('node', [CLI, ...args], { stdin: 'ignore' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Target {
  socket: string;
  config: string;
  replicas: number;
}

async function timeIglu(t: Target): Promise<number> {
  const t0 = performance.now();
  await iglu(['--config', t.config, 'farm', 'up', '--replicas', String(t.replicas)]);
  const dt = performance.now() - t0;
  await iglu(['--config', t.config, 'farm', 'down']);
  return dt;
}

async function timeRaw(t: Target, imageId: string): Promise<number> {
  const name = `raw${Math.random().toString(36).slice(2, 6)}`;
  const t0 = performance.now();
  await api(t.socket, 'POST', '/networks/create', { Name: name, Driver: 'overlay', Attachable: true, Labels: { 'iglu.bench': name } });
  const net = await api<{ IPAM: { Config: { Subnet: string }[] } }>(t.socket, 'GET', `/networks/${name}`);
  const subnet = net.IPAM.Config[0]!.Subnet;
  const svc = await api<{ ID: string }>(t.socket, 'POST', '/services/create', {
    Name: name,
    Labels: { 'iglu.bench': name },
    TaskTemplate: {
      ContainerSpec: { Image: imageId, Init: true, Command: ['distccd', '--daemon', '--no-detach', '--log-stderr', '--allow', subnet] },
      Networks: [{ Target: name }],
    },
    Mode: { Replicated: { Replicas: t.replicas } },
    EndpointSpec: { Mode: 'dnsrr' },
  });
  let ips: string[];
  for (;;) {
    const tasks = await api<
      { Status: { State: string }; DesiredState: string; NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses: string[] }[] }[]
    >(t.socket, 'GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [svc.ID], 'desired-state': ['running'] }))}`);
    const running = tasks.filter((x) => x.Status.State === 'running');
    if (running.length === t.replicas) {
      ips = running.map((x) => x.NetworksAttachments!.find((a) => a.Network.Spec.Name === name)!.Addresses[0]!.split('/')[0]!);
      break;
    }
    await sleep(250);
  }
  const probe = `cd /tmp && echo 'int x;' > p.c; for h in ${ips.join(' ')}; do until DISTCC_HOSTS=$h DISTCC_FALLBACK=0 distcc clang -c p.c -o p.o 2>/dev/null; do sleep 0.2; done; done`;
  const c = await api<{ Id: string }>(t.socket, 'POST', '/containers/create', {
    Image: imageId,
    Cmd: ['sh', '-c', probe],
    HostConfig: { NetworkMode: name, Init: true },
    Labels: { 'iglu.bench': name },
  });
  await api(t.socket, 'POST', `/containers/${c.Id}/start`);
  await api(t.socket, 'POST', `/containers/${c.Id}/wait`);
  const dt = performance.now() - t0;
  await api(t.socket, 'DELETE', `/containers/${c.Id}?force=1`);
  await api(t.socket, 'DELETE', `/services/${svc.ID}`);
  for (let k = 0; k < 120; k++) {
    try {
      await api(t.socket, 'DELETE', `/networks/${name}`);
      break;
    } catch {
      await sleep(250);
    }
  }
  return dt;
}

async function bench(label: string, t: Target): Promise<void> {
  await iglu(['--config', t.config, 'farm', 'up', '--replicas', String(t.replicas)]); // swarm, nodes and image warm
  const img = JSON.parse((await iglu(['image', 'build', '--json'])).stdout) as { id: string };
  await iglu(['--config', t.config, 'farm', 'down']);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(await timeIglu(t));
    b.push(await timeRaw(t, img.id));
  }
  const ma = median(a) / 1000;
  const mb = median(b) / 1000;
  console.log(
    `${label}: iglu farm up ${ma.toFixed(2)} s, raw Engine API ${mb.toFixed(2)} s, ratio ${(ma / mb).toFixed(2)} ` +
      `(medians of ${rounds}; iglu ${a.map((x) => (x / 1000).toFixed(2)).join('/')}, raw ${b.map((x) => (x / 1000).toFixed(2)).join('/')})`,
  );
}

if (which === '1' || which === 'both') {
  await bench('1 node, 2 tasks', { socket: '/var/run/docker.sock', config: writeConfig('farm:\n  name: bench1\n  network: bench1-net\n'), replicas: 2 });
}
if (which === '3' || which === 'both') {
  const nodes = new NetnsEngines(3);
  await nodes.up();
  try {
    const { Engine, resolveEndpoint } = await import('../src/docker/index.js');
    const { distributeImage } = await import('../src/farm/distribute.js');
    const img = JSON.parse((await iglu(['image', 'build', '--json'])).stdout) as { id: string; ref: string };
    await distributeImage(new Engine(resolveEndpoint(undefined)), [nodes.engine(1)], img);
    const node = (i: number) => `    - endpoint: ${nodes.endpoint(i)}\n      advertiseAddr: ${nodes.addr(i)}\n`;
    const config = writeConfig(
      `docker:\n  host: ${nodes.endpoint(1)}\nfarm:\n  name: bench3\n  network: bench3-net\n  advertiseAddr: ${nodes.addr(1)}\n  nodes:\n${node(2)}${node(3)}`,
    );
    await bench('3 nodes, 3 tasks', { socket: nodes.sock(1), config, replicas: 3 });
    await iglu(['--config', config, 'farm', 'down', '--leave']);
  } finally {
    await nodes.down();
  }
}

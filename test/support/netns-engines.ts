import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { Engine } from '../../src/docker/index.js';

const sh = (cmd: string, args: string[]) => execa(cmd, args, { reject: false, stdin: 'ignore' });

/**
 * Extra Docker Engines on this machine, each a real swarm node in its own network
 * namespace, joined to a host bridge by a veth pair (the walk-through in ENVIRONMENT.md,
 * "Three nodes on one machine"). Test support only: it needs root, iproute2, iptables,
 * nsenter and unshare. Engine i listens on BASE/n<i>/docker.sock and has address NET.i.
 */
export class NetnsEngines {
  readonly bridge = 'iglu0';
  readonly net = '10.213.0';
  /** The host's address on the bridge. */
  readonly hostAddr = `${this.net}.254`;

  constructor(
    readonly count = 3,
    readonly base = '/tmp/igmn',
  ) {}

  sock(i: number): string {
    return `${this.base}/n${i}/docker.sock`;
  }
  endpoint(i: number): string {
    return `unix://${this.sock(i)}`;
  }
  addr(i: number): string {
    return `${this.net}.${i}`;
  }
  engine(i: number): Engine {
    return new Engine(this.endpoint(i));
  }
  private get indices(): number[] {
    return Array.from({ length: this.count }, (_, k) => k + 1);
  }

  /** Bridge, namespaces, veths, the FORWARD rule, then one dockerd per namespace. */
  async up(): Promise<void> {
    await this.down(); // whatever an interrupted earlier run left behind
    await mkdir(this.base, { recursive: true });
    // tmpfs: the engines' data roots go away in a moment at teardown
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=12g', 'iglu-mn', this.base]);
    await execa('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    await execa('ip', ['addr', 'add', `${this.hostAddr}/24`, 'dev', this.bridge]);
    await execa('ip', ['link', 'set', this.bridge, 'up']);
    for (const i of this.indices) {
      await execa('ip', ['netns', 'add', `iglu-n${i}`]);
      await execa('ip', ['link', 'add', `iglu-v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', `iglu-n${i}`]);
      await execa('ip', ['link', 'set', `iglu-v${i}`, 'master', this.bridge, 'up']);
      await execa('ip', ['-n', `iglu-n${i}`, 'addr', 'add', `${this.addr(i)}/24`, 'dev', 'eth0']);
      await execa('ip', ['-n', `iglu-n${i}`, 'link', 'set', 'eth0', 'up']);
      await execa('ip', ['-n', `iglu-n${i}`, 'link', 'set', 'lo', 'up']);
    }
    // the host's FORWARD policy is DROP (dockerd), and bridged frames pass FORWARD
    await execa('iptables', ['-I', await this.forwardChain(), '-i', this.bridge, '-o', this.bridge, '-j', 'ACCEPT']);
    for (const i of this.indices) await this.startEngine(i);
    await Promise.all(this.indices.map((i) => this.waitEngine(i)));
  }

  private async forwardChain(): Promise<string> {
    return (await sh('iptables', ['-n', '-L', 'DOCKER-USER'])).exitCode === 0 ? 'DOCKER-USER' : 'FORWARD';
  }

  private async startEngine(i: number): Promise<void> {
    const d = `${this.base}/n${i}`;
    await mkdir(d, { recursive: true });
    // its own key file, or every engine reports the same engine ID
    await writeFile(`${d}/daemon.json`, JSON.stringify({ 'deprecated-key-path': `${d}/key.json` }));
    const dockerd = `hostname iglu-n${i} && exec dockerd --host unix://${d}/docker.sock --data-root ${d}/data --exec-root ${d}/exec --pidfile ${d}/docker.pid --config-file ${d}/daemon.json --cgroup-parent /iglu-n${i}`;
    const { openSync } = await import('node:fs');
    const out = openSync(`${d}/dockerd.log`, 'a');
    // nsenter, not `ip netns exec` (which remounts /sys and breaks dockerd's cgroups)
    const child = spawn('nsenter', [`--net=/run/netns/iglu-n${i}`, '--', 'unshare', '--uts', '--', 'sh', '-c', dockerd], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' },
    });
    child.unref();
  }

  private async waitEngine(i: number): Promise<void> {
    for (let k = 0; k < 150; k++) {
      if (
        await this.engine(i)
          .info()
          .then(
            () => true,
            () => false,
          )
      )
        return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`engine n${i} did not come up; see ${this.base}/n${i}/dockerd.log`);
  }

  private async enginePid(i: number): Promise<number | undefined> {
    const pid = Number((await readFile(`${this.base}/n${i}/docker.pid`, 'utf8').catch(() => '')).trim());
    if (!pid) return undefined;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    return cmdline.includes(`unix://${this.base}/n${i}/docker.sock`) ? pid : undefined;
  }

  /**
   * Crashes node `i` as a machine dying would: SIGKILL to its dockerd, its containerd
   * and shims, and every process in its containers' cgroups (`--cgroup-parent
   * /iglu-nI`), at once. `down()` still cleans up after it.
   */
  async crash(i: number): Promise<void> {
    const pids = new Set<number>();
    const engine = await this.enginePid(i);
    if (engine) pids.add(engine);
    const ps = await sh('ps', ['-ww', '-eo', 'pid=,args=']);
    for (const line of String(ps.stdout).split('\n')) {
      const m = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (m && m[2]!.includes(`${this.base}/n${i}/`)) pids.add(Number(m[1]));
    }
    const tasks = await sh('sh', ['-c', `find /sys/fs/cgroup/pids/iglu-n${i} /sys/fs/cgroup/iglu-n${i} -name cgroup.procs -exec cat {} + 2>/dev/null`]);
    for (const p of String(tasks.stdout).split('\n').filter(Boolean)) pids.add(Number(p));
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** Stops the engines, removes veths, namespaces, bridge, rule, cgroups and the tmpfs. */
  async down(): Promise<void> {
    const pids = (await Promise.all(this.indices.map((i) => this.enginePid(i)))).filter((p): p is number => p !== undefined);
    for (const p of pids) process.kill(p, 'SIGTERM');
    for (let k = 0; k < 300 && pids.some(alive); k++) await new Promise((r) => setTimeout(r, 100));
    for (const p of pids.filter(alive)) process.kill(p, 'SIGKILL');
    // containerd shims and anything else started for our engines
    const ps = await sh('ps', ['-ww', '-eo', 'pid=,args=']);
    const leftovers: number[] = [];
    for (const line of String(ps.stdout).split('\n')) {
      const m = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (m && m[2]!.includes(`${this.base}/n`) && /containerd|dockerd/.test(m[2]!)) leftovers.push(Number(m[1]));
    }
    for (const p of leftovers) process.kill(p, 'SIGKILL');
    for (let k = 0; k < 50 && leftovers.some(alive); k++) await new Promise((r) => setTimeout(r, 100));
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '');
    for (const m of mounts
      .filter((m) => m.startsWith(`${this.base}/`))
      .sort()
      .reverse()) {
      if ((await sh('umount', [m])).exitCode !== 0) await sh('umount', ['-l', m]);
    }
    for (const i of this.indices) {
      await sh('ip', ['link', 'del', `iglu-v${i}`]); // before the netns: its deletion is asynchronous
      await sh('ip', ['netns', 'del', `iglu-n${i}`]);
    }
    await sh('ip', ['link', 'del', this.bridge]);
    while ((await sh('iptables', ['-D', await this.forwardChain(), '-i', this.bridge, '-o', this.bridge, '-j', 'ACCEPT'])).exitCode === 0);
    await sh('sh', ['-c', 'find /sys/fs/cgroup/ -maxdepth 2 -type d -name "iglu-n[0-9]" | while read d; do find "$d" -depth -type d -exec rmdir {} + ; done']);
    while (await isMountpoint(this.base)) {
      if ((await sh('umount', [this.base])).exitCode !== 0) await sh('umount', ['-l', this.base]);
    }
    await rm(this.base, { recursive: true, force: true });
  }
}

async function isMountpoint(dir: string): Promise<boolean> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' ')[4] === dir);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What a clean teardown must give back: links, namespaces, iptables rules, mounts, cgroups. */
export async function hostSnapshot(base: string): Promise<string> {
  const links = String((await sh('ip', ['-o', 'link', 'show'])).stdout)
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .sort();
  const netns = String((await sh('ip', ['netns', 'list'])).stdout)
    .split('\n')
    .sort();
  const rules = String((await sh('iptables-save', [])).stdout)
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/, ''));
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(base));
  const cgroups = String((await sh('sh', ['-c', 'ls -d /sys/fs/cgroup/*/iglu-n* /sys/fs/cgroup/iglu-n* 2>/dev/null'])).stdout);
  return JSON.stringify({ links, netns, rules, mounts, cgroups }, null, 1);
}

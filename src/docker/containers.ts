import type Docker from 'dockerode';
import { log } from '../log.js';
import { idempotent } from './api-error.js';
import type { ContainerInfo, Labels } from './types.js';

/** What a one-shot container runs. */
export interface OneShot {
  image: string;
  cmd: string[];
  env?: Record<string, string>;
  labels: Labels;
  /** Network to attach to (an attachable overlay works on a swarm node). */
  network?: string;
  /** Bind mounts, "host:container[:ro]". */
  binds?: string[];
  /** Name prefix; a random suffix keeps names unique. */
  name?: string;
  /** Kill and fail after this many milliseconds. */
  timeoutMs: number;
}

/** Result of a one-shot container: its exit code and its combined output (TTY). */
export interface OneShotResult {
  exitCode: number;
  output: string;
}

/** Containers on one engine (Engine API `/containers`). */
export class ContainersClient {
  constructor(private readonly api: Docker, private readonly endpoint: string) {}

  /** Containers (running or not) whose labels include every `labels` pair. */
  async list(labels: Labels): Promise<ContainerInfo[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const list = await this.api.listContainers({ all: true, filters: { label } });
    return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), state: c.State, labels: c.Labels }));
  }

  /**
   * Runs a container to completion and removes it, also when waiting fails or times out.
   * Output is read through a TTY, so stdout and stderr arrive as one text.
   * @throws Error when it does not exit within `timeoutMs`
   */
  async runOnce(spec: OneShot): Promise<OneShotResult> {
    const name = `${spec.name ?? 'iglu'}-${Math.random().toString(36).slice(2, 8)}`;
    const container = await this.api.createContainer({
      name,
      Image: spec.image,
      Cmd: spec.cmd,
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      Tty: true,
      HostConfig: { NetworkMode: spec.network, Binds: spec.binds, Init: true },
    });
    log.docker('created container %s (%s) on %s', name, container.id.slice(0, 12), this.endpoint);
    let timer: NodeJS.Timeout | undefined;
    try {
      await container.start();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`container ${name} did not finish within ${spec.timeoutMs} ms`)), spec.timeoutMs);
      });
      const done = (await Promise.race([container.wait(), timeout])) as { StatusCode: number };
      const output = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      return { exitCode: done.StatusCode, output: output.toString('utf8') };
    } finally {
      clearTimeout(timer);
      await this.remove(container.id);
    }
  }

  /** Force-removes a container; an absent one counts as removed. */
  async remove(id: string): Promise<void> {
    await idempotent(() => this.api.getContainer(id).remove({ force: true }));
    log.docker('removed container %s', id.slice(0, 12));
  }
}

import { PassThrough, type Readable, type Writable } from 'node:stream';
import type Docker from 'dockerode';
import { log } from '../log.js';
import { abortable } from '../util/abort.js';
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
  /** Stops the run: the container is removed and the call rejects with "interrupted". */
  signal?: AbortSignal;
}

/** Result of a one-shot container: its exit code and its combined output (TTY). */
export interface OneShotResult {
  exitCode: number;
  output: string;
}

/** A long-running container that commands are executed in (see `ContainersClient.start`). */
export interface LongRunning {
  image: string;
  labels: Labels;
  /** Network to attach to (an attachable overlay works on a swarm node). */
  network?: string;
  /** Name prefix; a random suffix keeps names unique. */
  name: string;
  env?: Record<string, string>;
  /** Capabilities added to Docker's default set (CapAdd), e.g. SYS_ADMIN for mount(2) and unshare(2). */
  capAdd?: string[];
  /** Security options (SecurityOpt), e.g. apparmor=unconfined. */
  securityOpt?: string[];
  /**
   * No masked or read-only /proc paths (HostConfig MaskedPaths and ReadonlyPaths empty,
   * `--security-opt systempaths=unconfined`): a new procfs cannot be mounted in a user
   * namespace while parts of the container's /proc are covered (the kernel's
   * mount_too_revealing check), and bubblewrap mounts one for its sandbox.
   */
  unmaskedProc?: boolean;
  /** Bind mounts, "host:container[:ro]". */
  binds?: string[];
  /** The main process under docker-init (default `sleep infinity`); it must run until the container is removed. */
  cmd?: string[];
  /** HostConfig Memory (and MemorySwap, the same: no swap beyond it), bytes. */
  memoryBytes?: number;
  /** HostConfig PidsLimit: processes and threads at once in the container. */
  pidsLimit?: number;
}

/** Containers on one engine (Engine API `/containers`). */
export class ContainersClient {
  constructor(
    private readonly api: Docker,
    private readonly endpoint: string,
  ) {}

  /** Containers (running or not) whose labels include every `labels` pair. */
  async list(labels: Labels): Promise<ContainerInfo[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const list = await this.api.listContainers({ all: true, filters: { label } });
    return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), state: c.State, labels: c.Labels }));
  }

  /**
   * Runs a container to completion and removes it, also when waiting fails or times out.
   * Output is read through a TTY, so stdout and stderr arrive as one text.
   * The container is removed before the call settles, however it ends, so a caller that
   * awaits it never races its removal (a rollback removing the container's network).
   * @throws Error when it does not exit within `timeoutMs`; IgluError "interrupted"
   *   (exit 130) when `spec.signal` aborts
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
      const what = `container ${name}`;
      await abortable(container.start(), spec.signal, what);
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${spec.timeoutMs} ms`)), spec.timeoutMs);
      });
      const done = (await abortable(Promise.race([container.wait(), timeout]), spec.signal, what)) as { StatusCode: number };
      const output = await container.logs({ stdout: true, stderr: true, follow: false });
      return { exitCode: done.StatusCode, output: output.toString('utf8') };
    } finally {
      clearTimeout(timer);
      await this.remove(container.id);
    }
  }

  /**
   * Creates and starts a container that sleeps (or runs `spec.cmd`) until removed (tini as PID 1), for
   * `exec`, `putArchive` and `getArchive`. The caller removes it (`remove`) in a finally.
   * @returns the container ID
   */
  async start(spec: LongRunning): Promise<string> {
    const name = `${spec.name}-${Math.random().toString(36).slice(2, 8)}`;
    const container = await this.api.createContainer({
      name,
      Image: spec.image,
      Cmd: spec.cmd ?? ['sleep', 'infinity'],
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      HostConfig: {
        NetworkMode: spec.network,
        Init: true,
        CapAdd: spec.capAdd,
        SecurityOpt: spec.securityOpt,
        Binds: spec.binds,
        ...(spec.unmaskedProc ? { MaskedPaths: [], ReadonlyPaths: [] } : {}),
        ...(spec.memoryBytes ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
        ...(spec.pidsLimit ? { PidsLimit: spec.pidsLimit } : {}),
      },
    });
    log.docker('created container %s (%s) on %s', name, container.id.slice(0, 12), this.endpoint);
    try {
      await container.start();
    } catch (err) {
      await this.remove(container.id);
      throw err;
    }
    return container.id;
  }

  /**
   * Runs a command in a running container (`POST /containers/{id}/exec`, then start and
   * inspect), streaming its stdout and stderr to `output` as they come. Waits until the
   * engine reports the command ended (inspect polled, 10 ms doubling to 200 ms, after the
   * stream ends; about 5 s without an exit code gives up).
   * @returns the command's exit code (1, with a line in `output`, when none is reported)
   */
  async exec(id: string, cmd: string[], opts: { env?: Record<string, string>; workdir?: string; output: Writable }): Promise<number> {
    const exec = await this.api.getContainer(id).exec({
      Cmd: cmd,
      Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
      WorkingDir: opts.workdir,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((resolve, reject) => {
      const sink = new PassThrough();
      sink.on('data', (chunk: Buffer) => opts.output.write(chunk));
      this.api.modem.demuxStream(stream, sink, sink);
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    // the attach stream can end a moment before the engine records the exit: wait while the
    // command runs, and a few seconds more for an exit code; polled at 10 ms, doubling to
    // 200 ms (the record is usually there within milliseconds, and every exec pays this)
    for (let noCode = 0, pause = 10; noCode < 25; pause = Math.min(200, pause * 2)) {
      const info = await exec.inspect();
      if (!info.Running) {
        if (info.ExitCode !== null && info.ExitCode !== undefined) {
          log.docker('exec %s in %s: exit %d', cmd[0], id.slice(0, 12), info.ExitCode);
          return info.ExitCode;
        }
        noCode++;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    opts.output.write(`iglu: the engine reported no exit code for ${cmd[0]} in ${id.slice(0, 12)}\n`);
    return 1;
  }

  /** Extracts a tar stream into `dir` of a container (`PUT /containers/{id}/archive`). */
  async putArchive(id: string, dir: string, tar: Readable): Promise<void> {
    await this.api.getContainer(id).putArchive(tar, { path: dir });
  }

  /** A tar stream of `path` in a container (`GET /containers/{id}/archive`). */
  async getArchive(id: string, path: string): Promise<Readable> {
    return (await this.api.getContainer(id).getArchive({ path })) as unknown as Readable;
  }

  /**
   * Streams an image's filesystem as a tar archive to `consume`: creates a container from
   * it without starting it, reads `GET /containers/{id}/export`, and removes the
   * container when `consume` settles, whatever the outcome.
   */
  async exportImage<T>(image: string, labels: Labels, consume: (tar: Readable) => Promise<T>): Promise<T> {
    const container = await this.api.createContainer({ Image: image, Cmd: ['true'], Labels: labels });
    log.docker('created container %s from %s to export it', container.id.slice(0, 12), image);
    try {
      return await consume((await container.export()) as unknown as Readable);
    } finally {
      await this.remove(container.id);
    }
  }

  /** Force-removes a container; an absent one counts as removed. */
  async remove(id: string): Promise<void> {
    await idempotent(() => this.api.getContainer(id).remove({ force: true }));
    log.docker('removed container %s', id.slice(0, 12));
  }
}

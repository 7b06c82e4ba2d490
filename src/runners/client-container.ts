import { createWriteStream, Stats } from 'node:fs';
import { PassThrough } from 'node:stream';
import { mkdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import * as tar from 'tar';
import { targetCompilersScript } from '../chroot/target-script.js';
import type { Engine } from '../docker/index.js';
import type { Labels } from '../docker/types.js';
import { IgluError } from '../errors.js';
import { log } from '../log.js';
import { tailLines } from '../util/tail.js';
import { untarAsSandbox } from '../sandbox/untar.js';
import { REAP_SCRIPT } from '../sandbox/reap.js';

/**
 * The client container of the toolchain phase: a container from the farm image on the
 * farm's overlay network, where the package runner runs and compiles go out to the
 * distccd tasks. Files move in and out through the Engine API's archive endpoints (no
 * bind mounts, so the engine may be remote). Dispose it (`await using`) to remove it.
 */
export class BuildClient implements AsyncDisposable {
  private constructor(
    private readonly engine: Engine,
    readonly id: string,
  ) {}

  /**
   * Creates and starts the container. Recipe code runs in it only inside the bubblewrap
   * sandbox (runners/toolchain-client.ts), which needs what the --farm container of the
   * build root gets (runners/farm-root.ts): CAP_SYS_ADMIN for sandbox-enter.sh's staging
   * mounts (capabilities(7)), no seccomp filter (Docker's default one refuses bwrap's
   * pivot_root even with that capability: EPERM, measured with docker.io 20.10), no
   * AppArmor profile (Docker's would deny mount), and an unmasked /proc (bwrap mounts its
   * own inside a user namespace). Not --privileged. `memoryBytes` and `pidsLimit` bound the
   * container as a whole (HostConfig Memory, PidsLimit).
   * @throws the Engine's error (e.g. no such network)
   */
  static async start(
    engine: Engine,
    spec: { image: string; network: string; labels: Labels; cmd?: string[]; memoryBytes?: number; pidsLimit?: number },
  ): Promise<BuildClient> {
    const id = await engine.containers.start({
      image: spec.image,
      ...(spec.cmd ? { cmd: spec.cmd } : {}),
      ...(spec.memoryBytes ? { memoryBytes: spec.memoryBytes } : {}),
      ...(spec.pidsLimit ? { pidsLimit: spec.pidsLimit } : {}),
      network: spec.network,
      labels: spec.labels,
      name: 'iglu-toolchain',
      capAdd: ['SYS_ADMIN'],
      securityOpt: ['apparmor=unconfined', 'seccomp=unconfined'],
      unmaskedProc: true,
    });
    return new BuildClient(engine, id);
  }

  /**
   * Copies host directory `from` (its contents) to `to` in the container, over what is
   * there. Only directories, regular files and symbolic links go (an overlay's whiteouts,
   * character devices, stay behind); `skip` leaves out paths (`./a/b`, relative to `from`).
   */
  async copyIn(from: string, to: string, opts: { skip?: (rel: string) => boolean } = {}): Promise<void> {
    const filter = (rel: string, st: Stats | tar.ReadEntry) =>
      (!(st instanceof Stats) || st.isFile() || st.isDirectory() || st.isSymbolicLink()) && !opts.skip?.(rel);
    // `from` itself may be reached through a link (iglu installed by npm link): its contents go, not the link
    const stream = tar.c({ cwd: await realpath(from), prefix: to.replace(/^\//, ''), portable: true, filter }, ['.']);
    await this.engine.containers.putArchive(this.id, '/', stream as unknown as NodeJS.ReadableStream as import('node:stream').Readable);
  }

  /**
   * Copies container path `from` (a directory a recipe filled: untrusted) to host
   * directory `to`, replacing it, as the sandbox's uid would have made it in a local build
   * (sandbox/untar.ts: modes and symlinks kept, nothing owned by root, no device node).
   * @throws IgluError when the archive holds a device node or tar fails
   */
  async copyOut(from: string, to: string): Promise<void> {
    await rm(to, { recursive: true, force: true });
    const archive = await this.engine.containers.getArchive(this.id, from);
    // the archive's top entry is the directory's own name; strip it
    await untarAsSandbox(archive, to, { stripComponents: 1, what: `${from} of the client container` });
  }

  /** The text of one file in the container ('' when it is absent or unreadable). */
  async readText(file: string): Promise<string> {
    try {
      const archive = await this.engine.containers.getArchive(this.id, file);
      const chunks: Buffer[] = [];
      const parser = new tar.Parser({
        onReadEntry: (e) => {
          if (e.type === 'File') e.on('data', (c: Buffer) => chunks.push(c));
          else e.resume();
        },
      });
      await pipeline(archive, parser);
      return Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      log.build('read %s in %s: %s', file, this.id.slice(0, 12), (err as Error).message);
      return '';
    }
  }

  /**
   * Unpacks a package tarball (.tar.zst, from out/) into directory `dir` of the container,
   * which it creates: zstd -dc on the host, the Engine extracts (PUT /containers/{id}/archive,
   * confined to the container's root filesystem).
   * @throws IgluError naming the tarball when zstd fails; the Engine's error otherwise
   */
  async installTarball(tarball: string, dir: string): Promise<void> {
    await this.engine.containers.exec(this.id, ['mkdir', '-p', '--', dir], { output: new PassThrough().resume() });
    const zstd = execa('zstd', ['-dc', tarball], { stdout: 'pipe', buffer: false, reject: false, stderr: 'pipe' });
    const put = this.engine.containers.putArchive(this.id, dir, zstd.stdout);
    const [z] = await Promise.all([zstd, put]);
    if (z.exitCode !== 0)
      throw new IgluError(`cannot unpack ${tarball}: ${tailLines(String(z.stderr ?? ''), 3)}`, {
        hint: 'rebuild the package (--rebuild) if its tarball is damaged',
      });
  }

  /**
   * Makes the target's compiler the only one a recipe reaches, as `chroot prepare` does for
   * the build root (chroot/install.ts: linkTargetCompilers, exposeTargetLoader): the
   * container's /usr/bin/cc, c++, clang and clang++ become links to the wrappers in
   * `targetBin` (clang aimed at musl in `sysroot`, through IGLU_COMPILER_LAUNCHER), so a
   * call by absolute path reaches distcc too; and when `sysroot` holds musl's libc.so, the
   * container gets musl's loader (/lib/ld-musl-ARCH.so.1) and its search path
   * (/etc/ld-musl-ARCH.path), so configure tests run the target's programs. Run it after
   * the sysroot changes. The container is iglu's own, made from the farm image for this run.
   * @throws IgluError when the container's shell fails (the farm image lacks ln or sh)
   */
  async useTargetCompilers(targetBin: string, sysroot: string, arch = 'x86_64'): Promise<void> {
    const script = targetCompilersScript(targetBin, sysroot, arch);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const code = await this.engine.containers.exec(this.id, ['sh', '-c', script], { output: out });
    if (code !== 0)
      throw new IgluError(`cannot point the client container's compilers at ${targetBin}: ${tailLines(Buffer.concat(chunks).toString('utf8'), 3)}`, {
        hint: 'the farm image needs sh and ln (coreutils); rebuild it with iglu image build',
      });
  }

  /**
   * Ends every process a recipe left running in the container (sandbox/reap.ts), so none
   * outlives its package: run after each package's run, before its outputs are copied out.
   * @throws IgluError when some process survived 40 rounds of SIGKILL
   */
  async reap(): Promise<void> {
    const code = await this.engine.containers.exec(this.id, ['sh', '-c', REAP_SCRIPT], { output: new PassThrough().resume() });
    if (code !== 0)
      throw new IgluError('a process the recipe started survived being killed in the client container', {
        hint: 'the client container is removed at the end of the run; report the recipe',
      });
  }

  /**
   * Runs one of iglu's own commands in the container (never recipe code), its output dropped.
   * @throws IgluError naming the command when it fails
   */
  async exec(cmd: string[]): Promise<void> {
    const code = await this.engine.containers.exec(this.id, cmd, { output: new PassThrough().resume() });
    if (code !== 0) throw new IgluError(`${cmd.join(' ')} failed in the client container (exit ${code})`, { hint: 'this is a bug in iglu' });
  }

  /** Removes paths in the container (what an earlier package left). */
  async clear(paths: string[]): Promise<void> {
    await this.engine.containers.exec(this.id, ['rm', '-rf', '--', ...paths], { output: new PassThrough().resume() });
  }

  /** Runs a command, appending its output to `logFile`. @returns its exit code */
  async run(cmd: string[], env: Record<string, string>, logFile: string): Promise<number> {
    await mkdir(path.dirname(logFile), { recursive: true });
    const out = createWriteStream(logFile, { flags: 'a' });
    try {
      return await this.engine.containers.exec(this.id, cmd, { env, output: out });
    } finally {
      await new Promise((resolve) => out.end(resolve));
    }
  }

  /** Removes the container (also its running commands). Never throws. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.engine.containers.remove(this.id).catch((err: unknown) => log.build('remove %s: %s', this.id, (err as Error).message));
  }
}

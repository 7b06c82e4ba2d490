import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Engine } from '../docker/index.js';
import { countCompiles } from '../farm/distcc-log.js';
import { allowCommand, forwarderCmd, forwarderConnections, SOCKET_BIND, socketEnv } from '../farm/distcc-socket.js';
import { farmJobs } from '../farm/hosts.js';
import { hereHosts, type CompilePlace } from '../farm/here.js';
import type { FarmStatus } from '../farm/status.js';
import { watchFarmUse } from '../farm/use.js';
import { refusedLine, verifiedFarm, type RefusedTask } from '../farm/verify.js';
import { labelsFor } from '../labels.js';
import { BUILD_PATH, PKG_CONFIG_ENV, RUN_IN, RUNNER_IN, RUNNER_SCRIPT, SOURCE_DATE_EPOCH, SYSROOT, TARGET_BIN, TREE_IN } from '../layout/in-root.js';
import { phaseFailed } from '../packages/fetch.js';
import type { CompileCounts } from '../packages/manifest.js';
import { COMPILE_LOGS, compileLogEnv, treeOutputs, workspaceEnv } from '../packages/workspace.js';
import type { PackageRunner, RunnerJob, RunnerResult } from '../pipeline/runner.js';
import { SANDBOX_ID, sandboxArgv, type SandboxSpec } from '../sandbox/argv.js';
import { reapedOnAbort } from '../sandbox/reap.js';
import { runnerEnv } from '../recipes/read.js';
import { BuildClient } from './client-container.js';
import { buildContainerLimits } from './client-limits.js';
import { kernelHeadersScript } from '../chroot/target-script.js';
import { ownerLabel } from '../util/owner.js';

/** What the toolchain phase's runner needs: the farm (its live tasks) and its image, whose userland the client runs. */
export interface ToolchainClientOptions {
  engine: Engine;
  config: Config;
  farm: FarmStatus;
  /** The farm image's ID: the client container's image. */
  image: string;
  /** Compile in the client container without distcc (the baseline of bench/farm-compile). */
  local: boolean;
  /** Where compiles go when not `local`: the farm's tasks, or here on a one-node farm (farm/here.ts). */
  place: CompilePlace;
}

/**
 * The toolchain phase's runner: a client container from the farm image on the farm's
 * overlay (runners/client-container.ts), started for the first package and reused, removed on
 * dispose. Per package: the tree and the package's workspace are copied in (/iglu/tree,
 * as every phase sees the tree: packages/workspace.ts), the sysroot's tarballs installed
 * into its /sysroot, and `iglupkg.sh bp` runs with the target's compilers
 * (chroot/target-bin, also at /usr/bin/cc and the rest) reaching the farm's live tasks
 * through distcc, -j twice the farm's slots (on a farm whose every task runs on this
 * machine, distcc's localhost in the client itself, -j its CPUs: farm/here.ts); its out/ is copied back through the Engine
 * API (as an unprivileged uid: sandbox/untar.ts) and its compiles counted
 * (farm/distcc-log.ts). The tasks' compilers must make the client's objects byte for
 * byte: checked once, with the first package (the others are `refused`). Whatever the
 * recipe started is killed after each build (BuildClient.reap).
 */
export class ToolchainClientRunner implements PackageRunner, AsyncDisposable {
  readonly where = 'farm';
  refused: RefusedTask[] | undefined;
  /** The farm as the builds use it: after the first build, only the tasks whose compilers were accepted. */
  farm: FarmStatus;
  private client: BuildClient | undefined;
  private names: Map<string, string>;

  constructor(private readonly o: ToolchainClientOptions) {
    this.farm = o.farm;
    this.names = new Map(o.farm.hosts.map((h) => [h.ip, h.hostname]));
  }

  /** -j: 2 in the client alone (--local), the manager's CPUs when compiling here, else farmJobs of the farm's slots. */
  get jobs(): number {
    return this.o.local ? 2 : this.here ? this.o.place.cpus : farmJobs(this.farm.slots);
  }

  /** Compiles stay in the client container through distcc's localhost (a one-node farm), not sent to the tasks. */
  private get here(): boolean {
    return !this.o.local && this.o.place.here;
  }

  /** Compiles go to the farm's tasks. */
  private get remote(): boolean {
    return !this.o.local && !this.o.place.here;
  }

  /** A task's node by its overlay address. */
  readonly nodeOf = (ip: string): string | undefined => this.names.get(ip);

  async run(job: RunnerJob): Promise<RunnerResult> {
    const first = !this.client;
    this.client ??= await this.startClient();
    await this.copyIn(this.client, job, first && this.remote);
    const code = await this.build(this.client, job).finally(() => this.client?.reap());
    if (code !== 0) throw await phaseFailed(job.recipe, 'build', job.logFile, job.signal?.aborted);
    job.output('copy the packages back and pack them');
    const outRoot = path.join(job.ws.dir, 'out');
    const [, compiles] = await Promise.all([
      this.client.copyOut(path.posix.join(TREE_IN, job.ws.rel, 'out'), outRoot),
      this.compiles(this.client, job.logFile),
    ]);
    return { outRoot, compiles, release: async () => {} };
  }
  /** The client container: with the distcc forwarder as its main process when compiles go to the tasks; pids and memory limited (buildContainerLimits). */
  private async startClient(): Promise<BuildClient> {
    const connections = this.remote ? forwarderConnections(this.farm.slots) : 0;
    return BuildClient.start(this.o.engine, {
      image: this.o.image,
      network: this.o.config.farm.network,
      labels: labelsFor('client', this.o.config.farm.name, ownerLabel()),
      ...(connections ? { cmd: await forwarderCmd(connections) } : {}),
      ...buildContainerLimits(this.o.config.limits, (await this.o.engine.info()).memoryBytes, connections),
    });
  }

  /** The runner scripts, the tree and the workspace into the container, the sysroot's packages into its /sysroot; the farm's compilers verified (`verify`). */
  private async copyIn(client: BuildClient, job: RunnerJob, verify: boolean): Promise<void> {
    const { ws, sysroot, output } = job;
    const checking = verify ? `; verify the compilers of ${this.farm.hosts.length} tasks (a canary object each)` : '';
    output(`copy the runner, the recipe tree and the workspace into the client container${checking}`);
    const cleared = client.clear([TREE_IN, RUN_IN, SYSROOT]);
    const [verified] = await Promise.all([
      // the canary uses the container's own clang and /tmp, none of what is copied
      verify ? verifiedFarm(this.o.engine, client.id, this.o.config.farm, this.farm, runnerEnv().TRIPLE!) : undefined,
      cleared.then(async () => {
        for (const t of sysroot.tarballs) await client.installTarball(t, SYSROOT);
        await client.exec(['sh', '-c', kernelHeadersScript(SYSROOT)]);
        await client.useTargetCompilers(TARGET_BIN, SYSROOT);
      }),
      cleared.then(async () => {
        await client.copyIn(path.dirname(RUNNER_SCRIPT), RUNNER_IN);
        await client.copyIn(ws.tree, TREE_IN, { skip: treeOutputs });
        await client.copyIn(path.join(ws.layers, 'upper'), TREE_IN);
      }),
    ]);
    if (sysroot.names?.length) output(`installed ${sysroot.names.join(', ')} into ${SYSROOT}`);
    if (verified) {
      this.refused = verified.refused;
      for (const r of verified.refused) output(refusedLine(r));
      this.farm = verified.status;
      // the forwarder reaches these tasks, and nothing else on the overlay
      await client.exec(allowCommand(this.farm.hosts, this.o.config.farm.port));
    }
  }

  /**
   * Runs `iglupkg.sh bp` in the container inside the bubblewrap sandbox every runner uses
   * (sandbox/argv.ts, staged by sandbox-enter.sh as in the build root): a user namespace
   * whose root is SANDBOX_ID outside, every capability dropped, no_new_privs, the
   * container's /usr, /etc and libraries read-only, writable only the recipe's own
   * directory of the tree, the build's run/ directory and tmpfs /tmp, /root, /var/tmp;
   * no network but lo: compiles reach the farm's tasks through the container's distcc
   * forwarder (farm/distcc-socket.ts), not at all with --local. The farm's use is shown
   * live under the step.
   * @returns its exit code
   */
  private async build(client: BuildClient, job: RunnerJob): Promise<number> {
    const building = this.o.local
      ? `build, -j${this.jobs}, local`
      : this.here
        ? `build, -j${this.jobs}, compiling here: every task of the farm runs on this machine (farm.oneNode) (log: ${job.logFile})`
        : `build through distcc, -j${this.jobs} (log: ${job.logFile})`;
    job.output(building);
    const env: Record<string, string> = {
      ...runnerEnv(),
      JOBS: String(this.jobs),
      // the target's compilers first, as in the build root; they reach the farm through distcc (IGLU_COMPILER_LAUNCHER)
      PATH: BUILD_PATH,
      HOME: '/root',
      SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH),
      ...PKG_CONFIG_ENV,
      ...workspaceEnv(job.ws),
      ...this.compileEnv(),
    };
    const recipeDir = path.posix.join(TREE_IN, job.ws.rel);
    await client.exec(['sh', '-c', `mkdir -p ${RUN_IN} ${SYSROOT} && chown -R ${SANDBOX_ID}:${SANDBOX_ID} ${RUN_IN} ${recipeDir}`]);
    const spec: SandboxSpec = {
      root: 'host',
      binds: [
        { host: RUNNER_IN, inside: RUNNER_IN, readOnly: true },
        { host: TREE_IN, inside: TREE_IN, readOnly: true },
        { host: recipeDir, inside: recipeDir, readOnly: false },
        { host: RUN_IN, inside: RUN_IN, readOnly: false },
        { host: SYSROOT, inside: SYSROOT, readOnly: true },
        ...(this.remote ? [SOCKET_BIND] : []),
      ],
      tmpfs: ['/root', '/var/tmp'],
      argv: ['mksh', `${RUNNER_IN}/${path.basename(RUNNER_SCRIPT)}`, 'bp'],
      env,
      hostname: 'iglu-chroot',
      dieWithParent: false,
      limits: job.limits,
    };
    const argv = sandboxArgv(spec, { asRoot: true, scripts: RUNNER_IN });
    await using _use = !this.remote ? undefined : watchFarmUse(this.o.engine, client.id, this.farm.hosts, (line) => job.output(`${building}; ${line}`));
    // an abort (Ctrl-C, the wall-time limit) kills the sandbox's processes: the exec then ends
    return await reapedOnAbort(
      job.signal,
      () => client.reap(),
      () => client.run(argv, { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, job.logFile),
    );
  }

  /** What a build's environment adds for its compiles: none (--local), distcc's localhost (here), or the farm's tasks through the forwarder. */
  private compileEnv(): Record<string, string> {
    if (this.o.local) return { IGLU_COMPILER_LAUNCHER: '' };
    const hosts = this.here ? hereHosts(this.o.place.cpus) : this.farm.distccHosts;
    return { IGLU_COMPILER_LAUNCHER: 'distcc', ...socketEnv(hosts), ...compileLogEnv() };
  }

  /** The build's compile counts from its distcc logs (kept beside its log as <pkg>.distcc.log); null with --local. */
  private async compiles(client: BuildClient, logFile: string): Promise<CompileCounts | null> {
    if (this.o.local) return null;
    const [distccLog, wrapperLog] = await Promise.all([
      client.readText(`${RUN_IN}/${COMPILE_LOGS.distcc}`),
      client.readText(`${RUN_IN}/${COMPILE_LOGS.wrapper}`),
    ]);
    await writeFile(logFile.replace(/\.log$/, '.distcc.log'), distccLog);
    return countCompiles(distccLog, wrapperLog, (ip) => this.names.get(ip) ?? ip);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.client?.[Symbol.asyncDispose]();
    this.client = undefined;
  }
}

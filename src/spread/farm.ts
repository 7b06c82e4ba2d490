import type { RunContext } from '../run-context.js';
import { Engine } from '../docker/index.js';
import { LABEL, RUN_ID } from '../labels.js';
import { targetCompilersScript } from '../chroot/target-script.js';
import { IgluError } from '../errors.js';
import { countCompiles } from '../farm/distcc-log.js';
import { farmForBuilds } from '../farm/for-builds.js';
import { distccHostsFor, farmJobs } from '../farm/hosts.js';
import { allowList, socketEnv } from '../farm/distcc-socket.js';
import { farmStatus } from '../farm/status.js';
import type { CompileCounts } from '../packages/manifest.js';
import { SANDBOX_ID } from '../sandbox/argv.js';
import { ownerOf } from '../util/owner.js';
import { sweepDeadJobs } from './leftovers.js';
import { ensureStore } from '../store/service.js';
import { PackageStore } from '../store/package-store.js';
import { attachJob, removeJob, runJob, type JobRun } from './job.js';
import { JOB_CPUS, jobRoom } from '../farm/room.js';
import type { PackageJob } from './job-spec.js';
import { PrioritySlots } from './slots.js';
import { DISTCC_FORWARD, FARM_PATH, SYSROOT, TARGET_BIN } from '../layout/in-root.js';

/** Tries a job gets after its node is lost (taskOutcome "lost"). */
export const JOB_RETRIES = 2;

/** The farm as package builds spread over it see it (`chroot build --spread`). */
export interface SpreadFarm {
  /** Ready, active nodes' hostnames. */
  nodes: string[];
  /** The ID (sha256:…) of the image jobs run: the distccd tasks' image. */
  imageId: string;
  /** How many jobs the farm has room for: Σ floor(CPUs / JOB_CPUS) over its ready nodes. */
  room: number;
  /** Where jobs wait for room, critical path first. */
  slots: PrioritySlots;
  /** The store's URL on the overlay, and the manager's view of it. */
  url: string;
  store: PackageStore;
  /** What a job's build adds to chrootEnv: DISTCC_HOSTS of every task through the job's forwarder (farm/distcc-socket.ts), distcc first in PATH. */
  env: Record<string, string>;
  /** -j of one job's build. */
  jobs: number;
  /** Counts a job's compiles from its logs, tasks named by node. */
  counts: (distccLog: string, wrapperLog: string) => CompileCounts;
  /** A task's node hostname by its overlay address. */
  nodeOf: (ip: string) => string | undefined;
  /** Follows another run's job for the same inputs (attachJob); undefined when there is none. */
  attach(o: { inputs: string; logFile: string; signal?: AbortSignal; onNode?: (node: string) => void }): Promise<{ node: string; stale?: boolean } | undefined>;
  /** Runs one job (runJob) on the farm; undefined when another run's job for the same inputs holds its name. */
  run(o: {
    pkg: string;
    inputs: string;
    bundle: string;
    recipeDirIn: string;
    token: string;
    logFile: string;
    /** What the build may use: the job container's memory, pids and /tmp. */
    limits?: PackageJob['limits'];
    signal?: AbortSignal;
    onNode?: (node: string) => void;
    /** Kernel header directories the job copies from its image's usr/include into /sysroot ([from, to]). */
    headersFromImage?: [string, string][];
  }): Promise<JobRun | undefined>;
}

/**
 * The farm ready for spread package builds: its distccd tasks (farmForBuilds: an
 * internal overlay, running tasks), its ready nodes and their room, and its package store
 * service (ensureStore). Jobs run the image the distccd tasks run, so their compilers are
 * the tasks' own (what verifyFarmCompilers checks for other clients holds by construction).
 * Dispose it to remove every job this run started that is still there.
 * @throws IgluError when no farm is up, it has no running task or no ready node, or the
 *   store does not start
 */
export async function spreadFarm(ctx: RunContext): Promise<SpreadFarm & AsyncDisposable> {
  const engine = await ctx.engine();
  const { status, image } = await farmForBuilds(engine, ctx.config.farm, { noFarmHint: 'start it with iglu farm up, or build with --no-spread' });
  const ready = status.nodes.filter((n) => n.state === 'ready' && n.availability === 'active');
  if (!ready.length) throw new IgluError(`the farm ${ctx.config.farm.name} has no ready node`, { hint: 'see iglu farm status' });
  const room = jobRoom(ready);
  const { url, store } = await ensureStore(engine, ctx.config.farm, image, { signal: ctx.signal });
  const engines = [engine, ...ctx.config.farm.nodes.map((n) => new Engine(n.endpoint))];
  // jobs of a run that was killed (their owner is gone): nobody will take their results
  await sweepDeadJobs(engine, ctx.config.farm.name, { engines, store });
  const names = new Map(status.hosts.map((h) => [h.ip, h.hostname]));
  const farm = ctx.config.farm;
  const imageId = (await engine.images.inspect(image))?.id ?? '';
  return {
    nodes: ready.map((n) => n.hostname),
    imageId,
    room,
    slots: new PrioritySlots(room),
    url,
    store,
    env: {
      // no network in the build: distcc goes through the job's forwarder (spread-job.sh)
      ...socketEnv(distccHostsFor(status.hosts, { port: farm.port, compression: farm.compression }), DISTCC_FORWARD.socket),
      IGLU_COMPILER_LAUNCHER: 'distcc',
      PATH: FARM_PATH,
      HOME: '/iglu/home',
    },
    jobs: Math.max(2, Math.ceil(farmJobs(status.slots) / room)),
    counts: (distccLog, wrapperLog) => countCompiles(distccLog, wrapperLog, (ip) => names.get(ip) ?? ip),
    nodeOf: (ip) => names.get(ip),
    attach: (o) => attachJob(engine, farm.name, o.inputs, { ...o, engines }),
    run: (o) =>
      runJob(
        engine,
        {
          farm: farm.name,
          pkg: o.pkg,
          inputs: o.inputs,
          attempt: 1,
          image,
          network: farm.network,
          cpus: JOB_CPUS,
          owner: ownerOf(),
          ...(o.limits ? { limits: o.limits } : {}),
          env: jobEnv(url, o, allowList(status.hosts, farm.port)),
        },
        { logFile: o.logFile, retries: JOB_RETRIES, signal: o.signal, onNode: o.onNode, engines },
      ),
    // a build that ends early (Ctrl-C, a failed step) may leave its jobs' own cleanup behind: this run's jobs go here
    async [Symbol.asyncDispose]() {
      for (const s of await engine.services.list({ [LABEL.farm]: farm.name, [LABEL.role]: 'build', [LABEL.run]: RUN_ID }).catch(() => []))
        await removeJob(engine, engines, s.id);
    },
  };
}

/** The job script's environment (chroot/spread-job.sh): the store, the bundle, the staging token, the recipe's directory, the sandbox uid, the target's compilers, the tasks distcc may reach, the kernel headers it copies from its image. Pure. */
function jobEnv(
  url: string,
  o: { bundle: string; token: string; recipeDirIn: string; headersFromImage?: [string, string][] },
  distccAllow: string,
): Record<string, string> {
  return {
    ...(o.headersFromImage?.length ? { IGLU_KERNEL_HEADERS: o.headersFromImage.map(([from, to]) => `${from}:${to}`).join(' ') } : {}),
    IGLU_STORE: url,
    IGLU_BUNDLE: o.bundle,
    IGLU_TOKEN: o.token,
    IGLU_RECIPE_DIR: o.recipeDirIn,
    IGLU_UID: String(SANDBOX_ID),
    IGLU_TARGET_SETUP: targetCompilersScript(TARGET_BIN, SYSROOT),
    IGLU_DISTCC_ALLOW: distccAllow,
  };
}

/**
 * Whether a chroot build spreads when neither --spread nor --no-spread is given: when a
 * farm is up with more than one ready node. An engine that does not answer, or no
 * swarm, means no.
 * @returns the ready nodes' count when it spreads, else 0
 */
export async function spreadByDefault(ctx: RunContext): Promise<number> {
  try {
    const status = await farmStatus(await ctx.engine(), ctx.config.farm);
    const ready = status.nodes.filter((n) => n.state === 'ready' && n.availability === 'active').length;
    return status.service && status.hosts.length && ready > 1 ? ready : 0;
  } catch {
    return 0;
  }
}

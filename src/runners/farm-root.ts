import { availableParallelism } from 'node:os';
import { createWriteStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { Engine } from '../docker/index.js';
import type { RunContext } from '../run-context.js';
import { IgluError } from '../errors.js';
import { countCompiles } from '../farm/distcc-log.js';
import { allowCommand, forwarderCmd, forwarderConnections, SOCKET_BIND, socketEnv } from '../farm/distcc-socket.js';
import { farmForBuilds } from '../farm/for-builds.js';
import { farmJobs } from '../farm/hosts.js';
import { watchFarmUse } from '../farm/use.js';
import { verifiedFarm } from '../farm/verify.js';
import { runnerEnv } from '../recipes/read.js';
import { labelsFor } from '../labels.js';
import { DEFAULT_TREE } from '../recipes/default-tree.js';
import { buildContainerLimits } from './client-limits.js';
import { buildRootRunner, type BuildRootRunner, type RootExec } from './build-root.js';
import { type ChrootPaths } from '../layout/chroot-paths.js';
import { runInRoot, type Launcher } from '../chroot/run.js';
import { REAP_SCRIPT, reapedOnAbort } from '../sandbox/reap.js';
import { ownerLabel } from '../util/owner.js';
import { CHROOT_SCRIPTS, FARM_PATH } from '../layout/in-root.js';
import { compilePlace, hereHosts } from '../farm/here.js';
import type { FarmConfig } from '../config/schema.js';
import type { FarmStatus } from '../farm/status.js';

/**
 * The --farm runner of the chroot phase. The host has no route into an overlay network,
 * so the namespaces are entered inside a container (with CAP_SYS_ADMIN) from the farm's image on
 * the farm's internal overlay, with the work directory, iglu's chroot/ scripts and the
 * recipe tree bind-mounted at their host paths. The sandbox has no network but lo: its
 * compiles reach the distccd tasks through the container's distcc forwarder, its main
 * process (farm/distcc-socket.ts); compilers run through
 * /usr/lib/distcc with DISTCC_HOSTS from the live tasks whose compilers make this
 * container's objects (verifyFarmCompilers; the others are `refused`) — or, when every
 * task runs on this machine and farm.oneNode is `here`, in the container itself through
 * distcc's localhost, with no canary check (farm/here.ts). Dispose it to
 * remove the container.
 * @param trees host directories holding recipes (bind-mounted read-only)
 * @throws IgluError when no farm is up, its overlay is not internal, it has no running
 *   tasks, or no task's compilers match (the container is removed then)
 */
export async function farmRunner(ctx: RunContext, paths: ChrootPaths, trees: string[] = [DEFAULT_TREE]): Promise<BuildRootRunner & AsyncDisposable> {
  const engine = await ctx.engine();
  const { status: farm, image } = await farmForBuilds(engine, ctx.config.farm, { noFarmHint: 'start it with iglu farm up, or build without --farm' });
  const place = compilePlace(ctx.config.farm, farm, availableParallelism());
  const connections = place.here ? 0 : forwarderConnections(farm.slots);
  const container = await startContainer(ctx, engine, image, { paths, trees, connections });
  let compiles: Omit<RootExec, 'mode' | 'run'>;
  try {
    compiles = place.here ? compilingHere(place.cpus) : await throughTasks(engine, container, ctx.config.farm, farm);
  } catch (err) {
    await engine.containers.remove(container);
    throw err;
  }
  const launcher = containerLauncher(engine, container);
  const runner = buildRootRunner({ mode: 'farm', ...compiles, run: (cmd) => runInRoot(paths, cmd, launcher) });
  return {
    ...runner,
    async [Symbol.asyncDispose]() {
      await engine.containers.remove(container);
    },
  };
}

/**
 * The --farm container: from the farm image on the farm's overlay, the work directory,
 * iglu's chroot/ scripts and the recipe trees bind-mounted at their host paths; with
 * `connections` (not 0), the distcc forwarder serving that many at once as its main process
 * (farm/distcc-socket.ts). Its pids and memory are limited (buildContainerLimits).
 */
async function startContainer(
  ctx: RunContext,
  engine: Engine,
  image: string,
  o: { paths: ChrootPaths; trees: string[]; connections: number },
): Promise<string> {
  const binds = [
    `${o.paths.workdir.root}:${o.paths.workdir.root}`,
    `${CHROOT_SCRIPTS}:${CHROOT_SCRIPTS}:ro`,
    ...[...new Set(o.trees)].map((t) => `${t}:${t}:ro`),
  ];
  return await engine.containers.start({
    image,
    network: ctx.config.farm.network,
    labels: labelsFor('chroot', ctx.config.farm.name, ownerLabel()),
    name: 'iglu-chroot',
    // The sandbox (bwrap) inside needs CAP_SYS_ADMIN for its staging mounts (capabilities(7)),
    // no seccomp filter (Docker's default one refuses bwrap's pivot_root: EPERM); Docker's AppArmor
    // profile would still deny mount. Not --privileged: only this one capability is added.
    capAdd: ['SYS_ADMIN'],
    securityOpt: ['apparmor=unconfined', 'seccomp=unconfined'],
    // the sandbox (bwrap) mounts its own /proc inside a user namespace
    unmaskedProc: true,
    binds,
    // its main process: the distcc forwarder, the sandbox's only way to the tasks
    ...(o.connections ? { cmd: await forwarderCmd(o.connections) } : {}),
    ...buildContainerLimits(ctx.config.limits, (await engine.info()).memoryBytes, o.connections),
  });
}

/**
 * Compiles through the farm's tasks whose compilers make this container's objects byte
 * for byte (verifiedFarm; the others are `refused`), reached through the forwarder, which
 * is told their addresses; the farm's use shown under the build step.
 */
async function throughTasks(engine: Engine, container: string, farm: FarmConfig, status: FarmStatus): Promise<Omit<RootExec, 'mode' | 'run'>> {
  const verified = await verifiedFarm(engine, container, farm, status, runnerEnv().TRIPLE!);
  const usable = verified.status;
  // without the list the forwarder reaches no task, and every compile would fall back to this container
  const code = await engine.containers.exec(container, allowCommand(usable.hosts, farm.port), { output: new PassThrough().resume() });
  if (code !== 0)
    throw new IgluError(`cannot write the distcc forwarder's allow list in the --farm container (exit ${code})`, { hint: 'this is a bug in iglu' });
  const names = new Map(usable.hosts.map((h) => [h.ip, h.hostname]));
  return {
    env: { ...socketEnv(usable.distccHosts), IGLU_COMPILER_LAUNCHER: 'distcc', PATH: FARM_PATH },
    binds: [SOCKET_BIND],
    jobs: farmJobs(usable.slots),
    refused: verified.refused,
    counts: (distccLog, wrapperLog) => countCompiles(distccLog, wrapperLog, (ip) => names.get(ip) ?? ip),
    nodeOf: (ip) => names.get(ip),
    watchUse: (show) => watchFarmUse(engine, container, usable.hosts, show),
  };
}

/** Compiles in the container itself through distcc's localhost (a one-node farm: farm/here.ts), `cpus` at once, counted as local. */
function compilingHere(cpus: number): Omit<RootExec, 'mode' | 'run'> {
  return {
    env: { DISTCC_HOSTS: hereHosts(cpus), IGLU_COMPILER_LAUNCHER: 'distcc', PATH: FARM_PATH },
    jobs: cpus,
    here: true,
    refused: [],
    counts: (distccLog, wrapperLog) => countCompiles(distccLog, wrapperLog),
  };
}

/**
 * Enters the build root by `docker exec` in the --farm container: the sandbox has no
 * network but lo (distcc goes through the forwarder's socket), is not tied to its parent (runc
 * exits at once under exec), and whatever the recipe started is killed after each
 * command (sandbox/reap.ts). A terminal is refused: --farm runs builds only.
 */
function containerLauncher(engine: Engine, container: string): Launcher {
  return {
    parentDeath: false,
    asRoot: true,
    container,
    async launch(argv, cmd, started) {
      if (cmd.output === 'terminal') throw new IgluError('--farm runs builds only, not a terminal', { hint: 'use iglu chroot enter without --farm' });
      await started(undefined);
      const out = createWriteStream(cmd.output.file, { flags: 'a' });
      // an abort (Ctrl-C, the wall-time limit) kills the sandbox's processes: the exec then ends
      const reap = () => engine.containers.exec(container, ['sh', '-c', REAP_SCRIPT], { output: new PassThrough().resume() });
      try {
        return await reapedOnAbort(cmd.signal, reap, () => engine.containers.exec(container, argv, { output: out }));
      } finally {
        // nothing the recipe started outlives this command (sandbox/reap.ts)
        await engine.containers.exec(container, ['sh', '-c', REAP_SCRIPT], { output: out });
        await new Promise((resolve) => out.end(resolve));
      }
    },
  };
}

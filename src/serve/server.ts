import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe } from '../errors.js';
import { FarmStatsReader, promText } from '../farm/stats.js';
import { ServePaths } from '../layout/serve-paths.js';
import { recipeCacheOf } from '../recipes/read-cache.js';
import type { RunContext } from '../run-context.js';
import { makeApi } from './api.js';
import { checkBranches } from './branches.js';
import { capConnections } from './connections.js';
import { farmView } from './farm-view.js';
import { serviceMetrics } from './metrics.js';
import { moveToDone, openQueued, QueueRefusal, sweepOld, watchQueue } from './queue-dir.js';
import { TaskService } from './service.js';
import { FINAL_STATES, QUEUE_OWNER_ID, type Task } from './task.js';
import { TaskDb } from './task-db.js';
import { sweepLeftovers } from './task-files.js';
import { listenAddress } from './listen.js';
import { BuildWorker } from './worker.js';

/** The owner of tasks that came through the queue directory. */
export const QUEUE_OWNER = 'queue';

/** How `iglu serve` runs. */
export interface ServeOptions {
  /** HOST:PORT. */
  listen: string;
  queueDir: string;
  doneDir: string;
  /** The build command for a task (argv; see WorkerOptions.buildArgv). */
  buildArgv: (tree: string, packages: string[]) => string[];
  say: (line: string) => void;
}

/** A running service: where it listens; dispose to stop taking work (running builds go on, and the next start follows them). */
export interface RunningService extends AsyncDisposable {
  url: string;
  db: TaskDb;
}

/**
 * Starts the build service: the task database (ServePaths.db), the worker that builds
 * queued tasks (looking every second, and at once when a task is queued or cancelled),
 * the queue directory's watcher, the removal of entries older than serve.retention, and
 * the HTTP API (makeApi) with its connections bounded (serve/connections.ts). Tasks a
 * previous run left building are followed or queued again by the worker's first round;
 * what a killed run left on disk is removed first (sweepLeftovers).
 * @throws IgluError for a branch that is no recipe tree of its own (checkBranches), when
 *   the database cannot be opened, the address is in use, or is not loopback without
 *   serve.allowPlaintextRemote (listenAddress)
 */
export async function startService(ctx: RunContext, o: ServeOptions): Promise<RunningService> {
  const address = listenAddress(o.listen, ctx.config.serve.allowPlaintextRemote);
  if (address.warning) o.say(address.warning);
  const branches = await checkBranches(ctx.config.serve.branches);
  const paths = new ServePaths(ctx.workdir);
  const db = new TaskDb(paths.db);
  const service = new TaskService(db, paths, { ...ctx.config.serve, branches });
  const cache = recipeCacheOf(ctx.workdir);
  const stack = new Cleanup();
  stack.defer(() => db.close());
  try {
    const swept = await sweepLeftovers(paths, db);
    if (swept.length) o.say(`removed ${swept.length} leftovers of an earlier run (upload files, directories of tasks not in the database)`);
    const worker = new BuildWorker({
      service,
      paths,
      buildArgv: o.buildArgv,
      farmProblem: async () => (await farmView(ctx)).problem,
      ...(cache ? { cache } : {}),
      say: o.say,
      onEnded: (t) =>
        t.ownerId === QUEUE_OWNER_ID && t.bundle?.name ? finishQueued(service, o.doneDir, path.join(o.queueDir, t.bundle.name), t) : Promise.resolve(),
    });
    const loop = workerLoop(worker, o.say);
    stack.defer(async () => {
      worker.draining = true;
      await loop.stop();
    });
    const queue = await watchQueue(o.queueDir, (file) => fromQueue(service, file, o.doneDir, loop.poke), o.say);
    stack.defer(() => queue[Symbol.asyncDispose]());
    const sweep = setInterval(() => void retention(service, o).catch((err: unknown) => o.say(`retention: ${describe(err)}`)), 60_000);
    stack.defer(() => clearInterval(sweep));
    const stats = lazyStats(ctx);
    stack.defer(() => stats.close());
    const app = await makeApi({
      service,
      farm: () => farmView(ctx),
      poke: loop.poke,
      metrics: async () => serviceMetrics(db.counts(), db.list({ limit: 200 })) + (await stats.text()),
    });
    stack.defer(() => app.close());
    capConnections(app.server, ctx.config.serve.connections.max, o.say);
    const url = await app.listen({ host: address.host, port: address.port });
    void retention(service, o).catch(() => undefined);
    return { url, db, [Symbol.asyncDispose]: () => stack.run() };
  } catch (err) {
    await stack.run();
    throw err;
  }
}

/** Undo steps, run last first; one that throws does not stop the others. */
class Cleanup {
  private readonly steps: (() => unknown)[] = [];
  defer(step: () => unknown): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => undefined);
  }
}

/** The worker's rounds: every second, or at once when poked; stop() waits for the round in progress. */
function workerLoop(worker: BuildWorker, say: (line: string) => void): { poke: () => void; stop: () => Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let again = false;
  let stopped = false;
  const round = () => {
    if (stopped) return;
    clearTimeout(timer);
    running = running
      .then(() => worker.tick())
      .catch((err: unknown) => say(`worker: ${describe(err)}`))
      .finally(() => {
        if (!stopped) timer = setTimeout(round, again ? 0 : 1000);
        again = false;
      });
  };
  round();
  return {
    poke: () => {
      again = true;
      round();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/**
 * A bundle closed in the queue directory becomes a task on `main`, queued; a refused one
 * ends failed with the reason, and goes to done. Only a regular file is read (openQueued).
 */
async function fromQueue(service: TaskService, file: string, doneDir: string, poke: () => void): Promise<void> {
  const name = path.basename(file);
  if (service.db.list({ ownerId: QUEUE_OWNER_ID, states: ['new', 'queued', 'blocked', 'building'] }).some((t) => t.bundle?.name === name)) return;
  const opened = await openQueued(file).catch((err: unknown) => {
    if (err instanceof QueueRefusal) return err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // gone: nothing to take
    throw err;
  });
  if (!opened) return;
  const task = service.create({ name: QUEUE_OWNER, id: QUEUE_OWNER_ID }, { mayRaise: false });
  try {
    if (opened instanceof QueueRefusal) throw opened;
    await service.putBundle(task.id, opened.createReadStream({ autoClose: false }), name);
    service.queue(task.id);
    poke();
  } catch (err) {
    const failed = service.db.update(task.id, (t) => ({
      ...t,
      state: 'failed',
      reason: describe(err),
      bundle: { bytes: 0, sha256: '', members: 0, name },
      endedAt: new Date().toISOString(),
    }))!;
    await finishQueued(service, doneDir, file, failed);
  } finally {
    if (!(opened instanceof QueueRefusal)) await opened.close().catch(() => undefined);
  }
}

async function finishQueued(service: TaskService, doneDir: string, file: string, t: Task): Promise<void> {
  const log = await readFile(service.paths.log(t.id), 'utf8').catch(() => '');
  await moveToDone(file, doneDir, t, log);
}

/** Cancels tasks never queued (serve.unqueuedSeconds); removes what is older than serve.retention: finished tasks (row and directory) and queue/done entries. */
async function retention(service: TaskService, o: ServeOptions): Promise<void> {
  for (const t of service.expireUnqueued()) o.say(`task ${t.id}: ${t.reason}`);
  const cutoff = Date.now() - service.config.retention * 1000;
  for (const t of service.db.list({ states: [...FINAL_STATES], limit: 100_000 })) {
    if (Date.parse(t.endedAt ?? t.createdAt) < cutoff) {
      await rm(service.paths.task(t.id), { recursive: true, force: true });
      service.db.remove(t.id);
    }
  }
  await sweepOld([o.queueDir, o.doneDir], service.config.retention);
}

/** The farm's distccd counters for /metrics (`farm top --prom`), its reader started on first use; nothing when no farm is up. */
function lazyStats(ctx: RunContext): { text: () => Promise<string>; close: () => Promise<void> } {
  let reader: Promise<FarmStatsReader | undefined> | undefined;
  return {
    text: async () => {
      reader ??= ctx
        .engine()
        .then((e) => FarmStatsReader.start(e, ctx.config.farm))
        .catch(() => undefined);
      const r = await reader;
      if (!r) {
        reader = undefined;
        return '';
      }
      return r.read().then(promText, () => '');
    },
    close: async () => {
      await (await reader)?.[Symbol.asyncDispose]();
    },
  };
}

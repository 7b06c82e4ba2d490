import { readFile } from 'node:fs/promises';
import { ExitCode, describe } from '../errors.js';
import type { ServePaths } from '../layout/serve-paths.js';
import type { ChrootBuildResult } from '../phases/chroot-run.js';
import type { RecipeCache } from '../recipes/read-cache.js';
import { buildAlive, exitCodeOf, signalBuild, startBuild } from './build-process.js';
import { nextTask } from './fair-share.js';
import type { TaskService } from './service.js';
import { FINAL_STATES, type Task } from './task.js';
import { errorOfLog, packagesOfLog, packagesOfResult } from './task-progress.js';
import { layTaskTree } from './task-tree.js';
import { keepArtifacts } from './artifacts.js';
import { checkBundleUnchanged, dropTaskFiles } from './task-files.js';

/** The exit code of an iglu whose work directory another iglu holds (EX_TEMPFAIL, sysexits.h): try again later. */
export const EXIT_BUSY = ExitCode.busy;
/** How long a stopped build has after SIGTERM to remove its jobs before SIGKILL, ms. */
const STOP_GRACE_MS = 30_000;

/** What the worker needs beyond the tasks. */
export interface WorkerOptions {
  service: TaskService;
  paths: ServePaths;
  /** The build command for a task's tree and packages (`iglu … chroot build --spread --keep-going --json --tree T P…`). */
  buildArgv: (tree: string, packages: string[]) => string[];
  /** Why no task can start now (no farm up, …), or undefined when they can. */
  farmProblem: () => Promise<string | undefined>;
  cache?: RecipeCache;
  /** A line for the service's own log. */
  say: (line: string) => void;
  /** Called once a task has ended (the queue directory moves its bundle to done). */
  onEnded?: (task: Task) => Promise<void>;
}

/**
 * Builds queued tasks, one at a time (each spreads its packages over the whole farm):
 * picks the next by fair share (nextTask), lays its tree (layTaskTree), starts its build
 * as a detached process (startBuild), follows it — its packages from its log, its time
 * limit (serve.timeout: SIGTERM, then SIGKILL after 30 s), a cancel — and records how it
 * ended. Nothing is kept in memory that the database does not have: a worker started
 * after a kill -9 follows a build still running, and queues again a build that is gone
 * without an exit code.
 */
export class BuildWorker {
  private readonly termSent = new Map<string, number>();
  /** Set to stop starting tasks (the service is stopping); running builds are left to run. */
  draining = false;

  constructor(private readonly o: WorkerOptions) {}

  /** One round: follows every building task, then starts the next when none builds. */
  async tick(): Promise<void> {
    const db = this.o.service.db;
    const building = db.list({ states: ['building'] });
    for (const t of building) await this.follow(t);
    if (!this.draining && !db.list({ states: ['building'] }).length) await this.startNext();
  }

  private async startNext(): Promise<void> {
    const db = this.o.service.db;
    const waiting = db.list({ states: ['queued', 'blocked'] });
    if (!waiting.length) return;
    const problem = await this.o.farmProblem();
    for (const t of waiting)
      db.update(t.id, (x) =>
        problem
          ? x.state === 'queued' || x.reason !== problem
            ? { ...x, state: 'blocked', reason: problem }
            : undefined
          : x.state === 'blocked'
            ? { ...x, state: 'queued', reason: undefined }
            : undefined,
      );
    if (problem) return;
    const next = nextTask(db.list({ states: ['queued'] }), db.lastStarts());
    if (!next) return;
    const claimed = db.update(next.id, (x) =>
      x.state === 'queued' ? { ...x, state: 'building', startedAt: new Date().toISOString(), packages: [], reason: undefined } : undefined,
    );
    if (claimed?.state !== 'building') return;
    await this.start(claimed);
  }

  private async start(t: Task): Promise<void> {
    const { paths, service } = this.o;
    const laying = this.layingLimit(t.id);
    try {
      await checkBundleUnchanged(paths, t);
      const tree = await layTaskTree({
        bundle: paths.bundle(t.id),
        unpacked: paths.unpacked(t.id),
        branchTree: service.branchTree(t.branch)!,
        out: paths.tree(t.id),
        maxBytes: service.config.maxUnpackedMiB * 1024 * 1024,
        signal: laying.signal,
        ...(this.o.cache ? { cache: this.o.cache } : {}),
      });
      const run = await startBuild(paths, t.id, this.o.buildArgv(tree.dir, tree.packages), {});
      service.db.update(t.id, (x) => ({ ...x, run, packages: tree.packages.map((name) => ({ name, state: 'waiting' })) }));
      this.o.say(`task ${t.id}: building ${tree.packages.join(' ')} (pid ${run.pid})`);
    } catch (err) {
      const stopped = laying.signal.aborted ? service.db.get(t.id) : undefined;
      if (stopped?.stop)
        await this.end(t.id, { state: stopped.stop === 'timeout' ? 'failed' : 'cancelled', ...(stopped.reason ? { reason: stopped.reason } : {}) });
      else await this.end(t.id, { state: 'failed', reason: describe(err) });
    } finally {
      laying.done();
    }
  }

  /**
   * The signal a task's tree is laid under: it aborts, within a second, once the task is
   * cancelled or passes serve.timeout (counted from its start, as for its build).
   */
  private layingLimit(id: string): { signal: AbortSignal; done: () => void } {
    const ac = new AbortController();
    const db = this.o.service.db;
    const timeout = this.o.service.config.timeout;
    const timer = setInterval(() => {
      let x = db.get(id);
      if (x && !x.stop && Date.now() - Date.parse(x.startedAt!) > timeout * 1000)
        x = db.update(id, (y) => ({ ...y, stop: 'timeout', reason: `past its time limit of ${timeout} s (serve.timeout)` }));
      if (x?.stop) ac.abort(new Error(x.reason ?? x.stop));
    }, 1000);
    return { signal: ac.signal, done: () => clearInterval(timer) };
  }

  private async follow(t: Task): Promise<void> {
    const { paths } = this.o;
    if (!t.run) return this.again(t, 'its build never started');
    const code = await exitCodeOf(paths, t.id);
    if (code !== undefined) return this.finish(t, code);
    if (!(await buildAlive(t.run))) return t.stop ? this.finish(t, undefined) : this.again(t, 'its build was gone (the machine restarted, or it was killed)');
    const timeout = this.o.service.config.timeout;
    if (!t.stop && Date.now() - Date.parse(t.startedAt!) > timeout * 1000) {
      t = this.o.service.db.update(t.id, (x) => ({ ...x, stop: 'timeout', reason: `past its time limit of ${timeout} s (serve.timeout)` }))!;
    }
    if (t.stop) this.stop(t);
    const log = await readFile(paths.log(t.id), 'utf8').catch(() => '');
    const seen = new Map(packagesOfLog(log).map((p) => [p.name, p]));
    if (seen.size) this.o.service.db.update(t.id, (x) => ({ ...x, packages: mergePackages(x.packages, seen) }));
  }

  private stop(t: Task): void {
    const since = this.termSent.get(t.id);
    if (since === undefined) {
      this.termSent.set(t.id, Date.now());
      this.o.say(`task ${t.id}: stopping its build (${t.reason})`);
      signalBuild(t.run!, 'SIGTERM');
    } else if (Date.now() - since > STOP_GRACE_MS) signalBuild(t.run!, 'SIGKILL');
  }

  /** A build that is gone: how it ended, from its exit code, result and log. */
  private async finish(t: Task, code: number | undefined): Promise<void> {
    const { paths } = this.o;
    this.termSent.delete(t.id);
    if (code === EXIT_BUSY && !t.stop) return this.again(t, 'the work directory was in use by another iglu');
    const result = await readFile(paths.result(t.id), 'utf8')
      .then((s) => JSON.parse(s) as ChrootBuildResult)
      .catch(() => undefined);
    const log = await readFile(paths.log(t.id), 'utf8').catch(() => '');
    const packages = result ? packagesOfResult(result.packages) : t.packages;
    const state = t.stop ? (t.stop === 'timeout' ? 'failed' : 'cancelled') : code === 0 ? 'done' : 'failed';
    const reason = t.stop ? t.reason : code === 0 ? undefined : (errorOfLog(log) ?? `its build exited ${code}`);
    // fixed now, before the task ends and the next one starts: what this task built, not what a later one replaces in out/
    const { kept: artifacts, problems } = await keepArtifacts(paths, t.id);
    for (const p of problems) this.o.say(`task ${t.id}: ${p}`);
    await this.end(t.id, { state, packages, artifacts, ...(reason ? { reason } : {}), ...(code !== undefined ? { exitCode: code } : {}) });
  }

  private async end(id: string, fields: Partial<Task> & Pick<Task, 'state'>): Promise<void> {
    const ended = this.o.service.db.update(id, (x) =>
      FINAL_STATES.includes(x.state) ? undefined : { ...x, ...fields, run: undefined, stop: undefined, endedAt: new Date().toISOString() },
    );
    if (!ended) return;
    this.o.say(`task ${id}: ${ended.state}${ended.reason ? ` (${ended.reason})` : ''}`);
    await dropTaskFiles(this.o.paths, ended).catch(() => undefined);
    await this.o.onEnded?.(ended).catch((err: unknown) => this.o.say(`task ${id}: ${describe(err)}`));
  }

  private again(t: Task, why: string): void {
    this.o.say(`task ${t.id}: queued again: ${why}`);
    this.o.service.db.update(t.id, (x) => (x.state === 'building' ? { ...x, state: 'queued', run: undefined, reason: why } : undefined));
  }
}

/** The task's packages with what the log shows laid over them, in the order first seen. Pure. */
function mergePackages(known: Task['packages'], seen: Map<string, Task['packages'][number]>): Task['packages'] {
  const out = known.map((p) => ({ ...p, ...(seen.get(p.name) ?? {}) }));
  for (const [name, p] of seen) if (!known.some((k) => k.name === name)) out.push(p);
  return out;
}

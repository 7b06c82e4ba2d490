import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ServeConfig } from '../config/schema.js';
import { DEFAULT_TREE } from '../recipes/default-tree.js';
import type { ServePaths } from '../layout/serve-paths.js';
import { checkBundle } from './bundle-check.js';
import { RequestError } from './request-error.js';
import { FINAL_STATES, QUEUE_OWNER_ID, TASK_ID, type Task } from './task.js';
import type { TaskDb } from './task-db.js';
import { dropTaskFiles, receiveUpload } from './task-files.js';

const MiB = 1024 * 1024;

/** Priorities a task may have; above 0 only for an admin token. */
export const PRIORITY = { min: -10, max: 10 } as const;

/**
 * The build service's tasks as the API and the queue directory change them: create, take
 * a bundle (size-limited, every member checked), set the branch, queue, cancel. Building
 * them is the worker's (serve/worker.ts). Every change is in the database when a call
 * returns. One owner (a token's id) may have serve.maxOpenTasks tasks open and keep
 * serve.maxStoredMiB on disk; the queue directory (root's) is not limited.
 */
export class TaskService {
  /** Tasks an upload is being taken for: one at a time per task. */
  private readonly uploading = new Set<string>();

  constructor(
    readonly db: TaskDb,
    readonly paths: ServePaths,
    readonly config: ServeConfig,
  ) {}

  /** The tree a branch builds upon: serve.branches, and `main` = the tree iglu ships unless configured. */
  branchTree(branch: string): string | undefined {
    const configured = Object.hasOwn(this.config.branches, branch) ? this.config.branches[branch] : undefined;
    return configured ? path.resolve(configured) : branch === 'main' ? DEFAULT_TREE : undefined;
  }

  /** @throws RequestError 400 for a branch that is not configured */
  checkBranch(branch: string): string {
    if (!this.branchTree(branch))
      throw new RequestError(
        400,
        `no branch "${branch}"`,
        `branches: ${['main', ...Object.keys(this.config.branches)].filter((b, i, a) => a.indexOf(b) === i).join(', ')} (serve.branches in iglu.yaml)`,
      );
    return branch;
  }

  /**
   * Creates a task in state new for `owner` (a token's name and id, or the queue directory's).
   * @throws RequestError 400 for a bad branch or priority, 403 a raised priority without
   *   admin, 429 when the owner has serve.maxOpenTasks open already
   */
  create(owner: { name: string; id: string }, o: { branch?: string; priority?: number; mayRaise: boolean }): Task {
    const priority = o.priority ?? 0;
    if (!Number.isInteger(priority) || priority < PRIORITY.min || priority > PRIORITY.max)
      throw new RequestError(400, `priority ${priority} is out of range`, `an integer from ${PRIORITY.min} to ${PRIORITY.max}`);
    if (priority > 0 && !o.mayRaise) throw new RequestError(403, 'only an admin token may give a priority above 0');
    const open = this.db.usage(owner.id).open;
    if (owner.id !== QUEUE_OWNER_ID && open >= this.config.maxOpenTasks)
      throw new RequestError(
        429,
        `${owner.name} has ${open} tasks open, the most one token may have (serve.maxOpenTasks: ${this.config.maxOpenTasks})`,
        'wait for them to end, or cancel those never queued (GET /task?state=new lists them; DELETE /task/ID)',
      );
    return this.db.create({ owner: owner.name, ownerId: owner.id, branch: this.checkBranch(o.branch ?? 'main'), priority });
  }

  /** The task by id. @throws RequestError 404 */
  task(id: string): Task {
    const t = TASK_ID.test(id) ? this.db.get(id) : undefined;
    if (!t) throw new RequestError(404, `no task ${id}`, 'GET /task lists the tasks');
    return t;
  }

  /**
   * Takes a task's bundle from `body`: at most serve.maxBundleMiB are written, to a file
   * of this request's own (receiveUpload; a larger body is refused when it passes the
   * limit, not after), then every member is checked (checkBundle) before it replaces the
   * task's bundle. One upload per task at a time: a second while one is taken is refused.
   * @throws RequestError 409 once the task is queued or while another upload to it runs,
   *   413 too large or past the owner's serve.maxStoredMiB, 400 a refused bundle
   */
  async putBundle(id: string, body: Readable, name?: string): Promise<Task> {
    const t = this.task(id);
    this.changeable(t);
    if (this.uploading.has(id))
      throw new RequestError(409, `an upload to task ${id} is in progress`, 'one upload per task at a time: wait for it, then PUT again');
    this.uploading.add(id);
    try {
      this.checkStored(t, 0);
      const upload = await receiveUpload(this.paths.task(id), body, this.config.maxBundleMiB * MiB);
      try {
        this.checkStored(t, upload.bytes);
        const { summary, problems } = await checkBundle(upload.file, { unpackedBytes: this.config.maxUnpackedMiB * MiB, members: 100_000 });
        if (!summary)
          throw new RequestError(
            400,
            `the bundle is refused: ${problems.join('; ')}`,
            'a tar (plain, gzip or zstd) of <category>/<pkg>/ recipe directories, relative names, no devices, links inside it',
          );
        this.changeable(this.task(id));
        await rename(upload.file, this.paths.bundle(id));
        const bundle = { bytes: upload.bytes, sha256: upload.sha256, members: summary.members, ...(name ? { name } : {}) };
        const stored = this.db.update(id, (x) => (x.state === 'new' ? { ...x, bundle } : undefined))!;
        if (stored.state !== 'new') {
          await dropTaskFiles(this.paths, stored);
          this.changeable(stored);
        }
        return stored;
      } finally {
        await rm(upload.file, { force: true });
      }
    } finally {
      this.uploading.delete(id);
    }
  }

  /** @throws RequestError 413 when `t`'s owner would keep more than serve.maxStoredMiB with `t`'s bundle replaced by one of `bytes` */
  private checkStored(t: Task, bytes: number): void {
    if (t.ownerId === QUEUE_OWNER_ID) return;
    const max = this.config.maxStoredMiB * MiB;
    const stored = this.db.usage(t.ownerId).bytes - (t.bundle?.bytes ?? 0);
    if (stored + bytes > max || (bytes === 0 && stored >= max))
      throw new RequestError(
        413,
        `${t.owner}'s tasks keep ${stored} bytes; with this bundle more than the ${max} one token may keep (serve.maxStoredMiB)`,
        'ended tasks are removed after serve.retention; an administrator can raise serve.maxStoredMiB in iglu.yaml',
      );
  }

  /** @throws RequestError 404, 409 once queued, 400 for an unknown branch */
  setBranch(id: string, branch: string): Task {
    this.changeable(this.task(id));
    this.checkBranch(branch);
    return this.db.update(id, (t) => ({ ...t, branch }))!;
  }

  /** Queues a task for its build. @throws RequestError 409 without a bundle or when not new */
  queue(id: string): Task {
    const t = this.task(id);
    if (t.state !== 'new') throw new RequestError(409, `task ${id} is ${t.state}`, 'a task is queued once');
    if (this.uploading.has(id)) throw new RequestError(409, `an upload to task ${id} is in progress`, 'queue it once the upload has answered');
    if (!t.bundle) throw new RequestError(409, `task ${id} has no bundle`, `PUT /task/${id}/build_bundle first`);
    return this.db.update(id, (x) => (x.state === 'new' ? { ...x, state: 'queued', queuedAt: new Date().toISOString() } : undefined))!;
  }

  /**
   * Cancels a task: one not yet building ends at once; a building one gets its reason and
   * the worker stops its build (SIGTERM to its process group, which removes its jobs).
   * @throws RequestError 409 for a task that has ended
   */
  cancel(id: string, by: string): Task {
    const t = this.task(id);
    if (FINAL_STATES.includes(t.state)) throw new RequestError(409, `task ${id} has ended (${t.state})`);
    return this.cancelAs(id, `cancelled by ${by}`);
  }

  /**
   * Cancels every task still new serve.unqueuedSeconds after its creation (never queued:
   * its bundle would stay otherwise), removing its bundle.
   * @returns the tasks cancelled
   */
  expireUnqueued(now = Date.now()): Task[] {
    const limit = this.config.unqueuedSeconds;
    const old = this.db.list({ states: ['new'], limit: 100_000 }).filter((t) => now - Date.parse(t.createdAt) > limit * 1000 && !this.uploading.has(t.id));
    return old.map((t) => this.cancelAs(t.id, `not queued within ${limit} s of its creation (serve.unqueuedSeconds)`));
  }

  /** Ends a task as cancelled (a building one: asks the worker to stop it), removing the files it no longer needs. */
  private cancelAs(id: string, reason: string): Task {
    const now = new Date().toISOString();
    const t = this.db.update(id, (x) =>
      x.state === 'building'
        ? { ...x, stop: 'cancelled', reason }
        : FINAL_STATES.includes(x.state)
          ? undefined
          : { ...x, state: 'cancelled', reason, endedAt: now },
    )!;
    if (t.state === 'cancelled') void dropTaskFiles(this.paths, t).catch(() => undefined);
    return t;
  }

  private changeable(t: Task): void {
    if (t.state !== 'new') throw new RequestError(409, `task ${t.id} is ${t.state}: its bundle and branch are fixed`, 'create another task');
  }
}

import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import type { ServeConfig } from '../config/schema.js';
import { DEFAULT_TREE } from '../recipes/default-tree.js';
import type { ServePaths } from '../layout/serve-paths.js';
import { checkBundle } from './bundle-check.js';
import { RequestError } from './request-error.js';
import { FINAL_STATES, TASK_ID, type Task } from './task.js';
import type { TaskDb } from './task-db.js';

/** Priorities a task may have; above 0 only for an admin token. */
export const PRIORITY = { min: -10, max: 10 } as const;

/**
 * The build service's tasks as the API and the queue directory change them: create, take
 * a bundle (size-limited, every member checked), set the branch, queue, cancel. Building
 * them is the worker's (serve/worker.ts). Every change is in the database when a call
 * returns.
 */
export class TaskService {
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

  /** @throws RequestError 400 for a bad branch or priority */
  create(owner: string, o: { branch?: string; priority?: number; mayRaise: boolean }): Task {
    const priority = o.priority ?? 0;
    if (!Number.isInteger(priority) || priority < PRIORITY.min || priority > PRIORITY.max)
      throw new RequestError(400, `priority ${priority} is out of range`, `an integer from ${PRIORITY.min} to ${PRIORITY.max}`);
    if (priority > 0 && !o.mayRaise) throw new RequestError(403, 'only an admin token may give a priority above 0');
    return this.db.create({ owner, branch: this.checkBranch(o.branch ?? 'main'), priority });
  }

  /** The task by id. @throws RequestError 404 */
  task(id: string): Task {
    const t = TASK_ID.test(id) ? this.db.get(id) : undefined;
    if (!t) throw new RequestError(404, `no task ${id}`, 'GET /task lists the tasks');
    return t;
  }

  /**
   * Takes a task's bundle from `body`: at most serve.maxBundleMiB are written (a larger
   * body is refused when it passes the limit, not after), then every member is checked
   * (checkBundle) before it replaces the task's bundle.
   * @throws RequestError 409 once the task is queued, 413 too large, 400 a refused bundle
   */
  async putBundle(id: string, body: Readable, name?: string): Promise<Task> {
    this.changeable(this.task(id));
    const max = this.config.maxBundleMiB * 1024 * 1024;
    await mkdir(this.paths.task(id), { recursive: true });
    const part = `${this.paths.bundle(id)}.part`;
    const sha = createHash('sha256');
    let bytes = 0;
    const tooLarge = new RequestError(413, `the bundle is larger than ${max} bytes`, 'serve.maxBundleMiB in iglu.yaml sets the limit');
    // past the limit the rest is read and dropped (up to 4 times the limit), so the client gets its 413 rather than a reset connection
    const limit = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > 4 * max) return done(tooLarge);
        if (bytes > max) return done();
        sha.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, limit, createWriteStream(part, { mode: 0o600 }));
      if (bytes > max) throw tooLarge;
      const { summary, problems } = await checkBundle(part, { unpackedBytes: this.config.maxUnpackedMiB * 1024 * 1024, members: 100_000 });
      if (!summary)
        throw new RequestError(
          400,
          `the bundle is refused: ${problems.join('; ')}`,
          'a tar (plain, gzip or zstd) of <category>/<pkg>/ recipe directories, relative names, no devices, links inside it',
        );
      await rename(part, this.paths.bundle(id));
      return this.db.update(id, (t) => ({ ...t, bundle: { bytes, sha256: sha.digest('hex'), members: summary.members, ...(name ? { name } : {}) } }))!;
    } finally {
      await rm(part, { force: true });
    }
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
    const now = new Date().toISOString();
    return this.db.update(id, (x) =>
      x.state === 'building'
        ? { ...x, stop: 'cancelled', reason: `cancelled by ${by}` }
        : FINAL_STATES.includes(x.state)
          ? undefined
          : { ...x, state: 'cancelled', reason: `cancelled by ${by}`, endedAt: now },
    )!;
  }

  private changeable(t: Task): void {
    if (t.state !== 'new') throw new RequestError(409, `task ${t.id} is ${t.state}: its bundle and branch are fixed`, 'create another task');
  }
}

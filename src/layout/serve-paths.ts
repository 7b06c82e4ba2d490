import path from 'node:path';
import type { Workdir } from './workdir.js';

/**
 * Where `iglu serve` keeps its state in the work directory: the task database, one
 * directory per task (its bundle, the tree it builds, its log and result), and the
 * default queue and done directories of construir's flow.
 */
export class ServePaths {
  readonly dir: string;
  constructor(readonly workdir: Workdir) {
    this.dir = path.join(workdir.root, 'serve');
  }

  /** The SQLite database (WAL mode: -wal and -shm beside it). */
  get db(): string {
    return path.join(this.dir, 'tasks.db');
  }
  get queue(): string {
    return path.join(this.dir, 'queue');
  }
  get done(): string {
    return path.join(this.dir, 'done');
  }
  /** One task's directory. @param id a task id (taskId's shape, checked by the caller) */
  task(id: string): string {
    return path.join(this.dir, 'tasks', id);
  }
  /** The uploaded bundle, as it came. */
  bundle(id: string): string {
    return path.join(this.task(id), 'bundle');
  }
  /** The bundle's recipes unpacked (as the sandbox's uid). */
  unpacked(id: string): string {
    return path.join(this.task(id), 'unpacked');
  }
  /** The branch's tree with the bundle's recipes laid over it: what the build reads. */
  tree(id: string): string {
    return path.join(this.task(id), 'tree');
  }
  /** The build's progress and log (stderr of `iglu chroot build`). */
  log(id: string): string {
    return path.join(this.task(id), 'build.log');
  }
  /** `iglu chroot build --json`'s result. */
  result(id: string): string {
    return path.join(this.task(id), 'result.json');
  }
  /** The packages, manifests and logs the task made, fixed here when it ended (`packages/…`, `logs/…`). */
  artifacts(id: string): string {
    return path.join(this.task(id), 'artifacts');
  }
  /** The build's exit code, written when it ends. */
  exit(id: string): string {
    return path.join(this.task(id), 'exit');
  }
}

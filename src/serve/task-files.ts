import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IgluError } from '../errors.js';
import type { ServePaths } from '../layout/serve-paths.js';
import { hashFile } from '../util/hash.js';
import { RequestError } from './request-error.js';
import { FINAL_STATES, TASK_ID, type Task } from './task.js';
import type { TaskDb } from './task-db.js';

/** Upload files in a task's directory: `bundle.<12 hex>.part` (and the single `bundle.part` of older versions). */
const PART = /^bundle(\.[0-9a-f]{12})?\.part$/;

/**
 * Writes an upload to a temporary file of its own in the task's directory (a random
 * name opened O_CREAT|O_EXCL, mode 0600: two requests never share one), hashing it on the
 * way. At most `max` bytes are written; past them the rest is read and dropped (up to 4
 * times the limit), so the client gets its 413 rather than a reset connection.
 * @returns the temporary file (the caller renames or removes it), its size and sha256
 * @throws RequestError 413 past `max` bytes (the file removed)
 */
export async function receiveUpload(dir: string, body: Readable, max: number): Promise<{ file: string; bytes: number; sha256: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `bundle.${randomBytes(6).toString('hex')}.part`);
  const sha = createHash('sha256');
  let bytes = 0;
  const tooLarge = new RequestError(413, `the bundle is larger than ${max} bytes`, 'serve.maxBundleMiB in iglu.yaml sets the limit');
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
    await pipeline(body, limit, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    if (bytes > max) throw tooLarge;
    return { file, bytes, sha256: sha.digest('hex') };
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
}

/**
 * The task's bundle is still the one its upload checked: its sha256 now against the one
 * recorded then (Task.bundle), read just before the build lays it out.
 * @throws IgluError when there is no bundle or it differs
 */
export async function checkBundleUnchanged(paths: ServePaths, t: Task): Promise<void> {
  const now = await hashFile(paths.bundle(t.id)).catch(() => undefined);
  if (!t.bundle || !now || now.sha256 !== t.bundle.sha256)
    throw new IgluError(`task ${t.id}: its bundle is not the one that was checked (sha256 ${now?.sha256 ?? 'none'}, checked ${t.bundle?.sha256 ?? 'none'})`, {
      hint: 'create another task and upload the bundle again',
    });
}

/**
 * Removes what an ended task no longer needs: the unpacked bundle and the tree its build
 * read, and a cancelled task's bundle (a finished one keeps it until serve.retention, to
 * show what was built). Its log, result and artifacts stay.
 */
export async function dropTaskFiles(paths: ServePaths, t: Pick<Task, 'id' | 'state'>): Promise<void> {
  const gone = [paths.unpacked(t.id), paths.tree(t.id), ...(t.state === 'cancelled' ? [paths.bundle(t.id)] : [])];
  for (const p of gone) await rm(p, { recursive: true, force: true });
}

/**
 * What a killed service leaves on disk, removed at start: upload files (`bundle.*.part`,
 * a kill -9 mid-upload), directories of tasks the database does not have, and the
 * unpacked bundles and trees (and cancelled bundles) of ended tasks.
 * @returns the paths removed
 */
export async function sweepLeftovers(paths: ServePaths, db: TaskDb): Promise<string[]> {
  const tasks = path.dirname(paths.task('000000000000'));
  const removed: string[] = [];
  for (const id of await readdir(tasks).catch(() => [])) {
    const dir = path.join(tasks, id);
    const t = TASK_ID.test(id) ? db.get(id) : undefined;
    if (!t) {
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
      continue;
    }
    for (const name of await readdir(dir).catch(() => []))
      if (PART.test(name)) {
        await rm(path.join(dir, name), { force: true });
        removed.push(path.join(dir, name));
      }
    if (FINAL_STATES.includes(t.state)) await dropTaskFiles(paths, t);
  }
  return removed;
}

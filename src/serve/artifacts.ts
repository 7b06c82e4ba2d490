import { createHash } from 'node:crypto';
import { constants, type ReadStream } from 'node:fs';
import { copyFile, link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ServePaths } from '../layout/serve-paths.js';
import type { PackageManifest } from '../packages/manifest.js';
import type { ChrootBuildResult } from '../phases/chroot-run.js';
import { hashFile } from '../util/hash.js';
import { RequestError } from './request-error.js';
import type { Task, TaskArtifact } from './task.js';

/**
 * Fixes a task's artifacts when its build has ended: for each package its result names,
 * the tarball (hard-linked: out/ is only ever replaced by rename(2), so the link keeps
 * these bytes; copied across filesystems), its manifest and its log (copied: a later
 * build rewrites the log in place) go into the task's artifacts directory, each with its
 * sha256. A tarball whose sha256 is not the one its manifest records is left out, named
 * in `problems`. The worker calls this before it marks the task ended and before it starts
 * the next task, so no later task's build has replaced the shared files yet.
 * @returns what was kept (for Task.artifacts) and what was not, and why
 */
export async function keepArtifacts(paths: ServePaths, id: string): Promise<{ kept: TaskArtifact[]; problems: string[] }> {
  const dir = paths.artifacts(id);
  await rm(dir, { recursive: true, force: true });
  const result = await readFile(paths.result(id), 'utf8')
    .then((s) => JSON.parse(s) as ChrootBuildResult)
    .catch(() => undefined);
  const kept: TaskArtifact[] = [];
  const problems: string[] = [];
  const keep = async (from: string, name: string, how: 'link' | 'copy'): Promise<TaskArtifact | undefined> => {
    const to = path.join(dir, name);
    await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
    const done = await (how === 'link' ? link(from, to).catch(() => copyFile(from, to, constants.COPYFILE_FICLONE)) : copyFile(from, to)).then(
      () => true,
      () => false,
    );
    if (!done) return undefined;
    const { sha256, size } = await hashFile(to);
    return { name, bytes: size, sha256 };
  };
  for (const p of result?.packages ?? []) {
    const log = p.log ? await keep(p.log, `logs/${path.basename(p.log)}`, 'copy') : undefined;
    if (log) kept.push(log);
    if (!p.tarball) continue;
    const manifestFile = p.tarball.replace(/\.tar\.zst$/, '.json');
    const manifest = await keep(manifestFile, `packages/${path.basename(manifestFile)}`, 'copy');
    const tarball = await keep(p.tarball, `packages/${path.basename(p.tarball)}`, 'link');
    if (!manifest || !tarball) continue;
    const recorded = (JSON.parse(await readFile(path.join(dir, manifest.name), 'utf8')) as PackageManifest).tarball?.sha256;
    if (recorded !== tarball.sha256) {
      problems.push(`${tarball.name}: its sha256 ${tarball.sha256} is not its manifest's (${recorded}): left out`);
      await rm(path.join(dir, tarball.name), { force: true });
      continue;
    }
    kept.push(manifest, tarball);
  }
  return { kept, problems };
}

/**
 * A task's artifacts by name: its log and result (its own files: only its build writes
 * them), and what keepArtifacts fixed when it ended, with the sha256 recorded then — so a
 * request can name only these, and a later build of the same package by anyone changes
 * none of them. A task that ended before artifacts were fixed has only its log and result.
 * @returns name → host path and, for fixed ones, the sha256 and size recorded
 */
export function taskArtifacts(paths: ServePaths, t: Task): Map<string, { file: string; recorded?: TaskArtifact }> {
  const files = new Map<string, { file: string; recorded?: TaskArtifact }>([
    ['build.log', { file: paths.log(t.id) }],
    ['result.json', { file: paths.result(t.id) }],
  ]);
  for (const a of t.artifacts ?? []) files.set(a.name, { file: path.join(paths.artifacts(t.id), a.name), recorded: a });
  return files;
}

/** The artifacts with their sizes, for a listing (a log or result not written yet is left out). */
export async function artifactList(paths: ServePaths, t: Task): Promise<{ name: string; bytes: number }[]> {
  const out: { name: string; bytes: number }[] = [];
  for (const [name, a] of taskArtifacts(paths, t)) {
    const bytes = a.recorded?.bytes ?? (await stat(a.file).catch(() => undefined))?.size;
    if (bytes !== undefined) out.push({ name, bytes });
  }
  return out;
}

/**
 * Opens one artifact to send: a fixed one is read once through the descriptor it is sent
 * from and must have the sha256 recorded when the task ended.
 * @returns a stream of the whole file
 * @throws RequestError 404 for a name the task does not have, 500 when a fixed artifact's bytes changed
 */
export async function openArtifact(paths: ServePaths, t: Task, name: string): Promise<ReadStream> {
  const a = taskArtifacts(paths, t).get(name);
  const fh = a ? await open(a.file, 'r').catch(() => undefined) : undefined;
  if (!a || !fh || !(await fh.stat()).isFile()) {
    await fh?.close();
    throw new RequestError(404, `task ${t.id} has no artifact ${name}`, `GET /task/${t.id}/artifacts lists them`);
  }
  if (a.recorded) {
    const hash = createHash('sha256');
    for await (const chunk of fh.createReadStream({ start: 0, autoClose: false })) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    if (sha256 !== a.recorded.sha256) {
      await fh.close();
      throw new RequestError(500, `artifact ${name} of task ${t.id} is not what the task built: sha256 ${sha256}, recorded ${a.recorded.sha256}`);
    }
  }
  return fh.createReadStream({ start: 0 });
}

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ServePaths } from '../layout/serve-paths.js';
import type { ChrootBuildResult } from '../phases/chroot-run.js';

/**
 * A task's artifacts by name: its log and result, each package's log, and the packages
 * it made (`packages/<tarball>` with `packages/<manifest>.json`) — the files the build's
 * result names, nothing else, so a request can name only these. Files that are gone
 * (removed by a later build) are left out.
 * @returns name → host path
 */
export async function taskArtifacts(paths: ServePaths, id: string): Promise<Map<string, string>> {
  const files = new Map<string, string>([
    ['build.log', paths.log(id)],
    ['result.json', paths.result(id)],
  ]);
  const result = await readFile(paths.result(id), 'utf8')
    .then((s) => JSON.parse(s) as ChrootBuildResult)
    .catch(() => undefined);
  for (const p of result?.packages ?? []) {
    if (p.log) files.set(`logs/${path.basename(p.log)}`, p.log);
    if (p.tarball) {
      files.set(`packages/${path.basename(p.tarball)}`, p.tarball);
      const manifest = p.tarball.replace(/\.tar\.zst$/, '.json');
      files.set(`packages/${path.basename(manifest)}`, manifest);
    }
  }
  const present = new Map<string, string>();
  for (const [name, file] of files) if ((await stat(file).catch(() => undefined))?.isFile()) present.set(name, file);
  return present;
}

/** The artifacts with their sizes, for a listing. */
export async function artifactList(paths: ServePaths, id: string): Promise<{ name: string; bytes: number }[]> {
  const out: { name: string; bytes: number }[] = [];
  for (const [name, file] of await taskArtifacts(paths, id)) out.push({ name, bytes: (await stat(file)).size });
  return out;
}

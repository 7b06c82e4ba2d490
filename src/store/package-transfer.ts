import { copyFile, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { IgluError } from '../errors.js';
import { readManifest, type PackageManifest } from '../packages/manifest.js';
import { writeManifest } from '../packages/pack.js';
import type { PackagePaths } from '../layout/package-paths.js';
import type { PackageRecord, PackageStore } from './package-store.js';

/**
 * Restores a build of `inputs` from the store into out/ (each output's manifest and
 * tarball, checked against their sha256 and against each other) and its log into
 * `logFile`. All or nothing: every blob is fetched and checked in a scratch directory
 * inside out/ first, and only then renamed into place, so a damaged or mismatched output
 * leaves out/ as it was.
 * @returns the manifests, the main package first; undefined when the store has no such build
 * @throws IgluError for a damaged blob (removed from the store), or a record whose
 *   manifests are not manifests or do not match it
 */
export async function restoreFromStore(store: PackageStore, inputs: string, paths: PackagePaths, logFile: string): Promise<PackageManifest[] | undefined> {
  const record = await store.record(inputs);
  if (!record) return undefined;
  const scratch = await mkdtemp(path.join(paths.outDir, '.store-'));
  try {
    const fetched: { manifest: PackageManifest; tarball: string; to: { tarball: string; manifest: string } }[] = [];
    for (const o of record.outputs) {
      const file = path.join(scratch, `${o.manifest}.json`);
      await store.get(o.manifest, file);
      const m = await readManifest(file);
      if (!m || m.name !== o.name || m.tarball?.sha256 !== o.tarball || m.inputs !== inputs) {
        throw new IgluError(`the package store's record of ${record.name} (${inputs.slice(0, 12)}) does not match its manifest of ${o.name}`, {
          hint: 'build it again with --rebuild',
        });
      }
      const tarball = path.join(scratch, `${o.tarball}.tar.zst`);
      await store.get(o.tarball, tarball);
      fetched.push({ manifest: m, tarball, to: { tarball: paths.tarball(m.name, m.version), manifest: paths.manifest(m.name, m.version) } });
    }
    const log = path.join(scratch, 'log');
    await store.get(record.log, log);
    for (const f of fetched) {
      await rename(f.tarball, f.to.tarball);
      await writeManifest(f.to.manifest, f.manifest);
    }
    await mkdir(path.dirname(logFile), { recursive: true });
    await copyFile(log, `${logFile}.iglu-store`);
    await rename(`${logFile}.iglu-store`, logFile);
    return fetched.map((f) => f.manifest);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(`${logFile}.iglu-store`, { force: true });
  }
}

/**
 * Puts a finished build into the store: each output's tarball and manifest, and the log
 * it was built with, then the record of `inputs` (written last, so a record only ever
 * names blobs that are there), and — given its `resolution` key (resolutionKey) — the
 * sources it was built from. Failed builds are never published.
 * @param manifests the build's outputs as packOutputs made them, the main package first
 * @returns the record written
 * @throws IgluError when a tarball no longer hashes to its manifest's sha256 (no record is
 *   written then)
 */
export async function publishToStore(
  store: PackageStore,
  inputs: string,
  manifests: PackageManifest[],
  paths: PackagePaths,
  logFile: string,
  resolution?: string,
): Promise<PackageRecord> {
  const outputs = [];
  for (const m of manifests) {
    const tarball = await store.put(paths.tarball(m.name, m.version));
    if (tarball.sha256 !== m.tarball.sha256) throw new IgluError(`${m.name}'s tarball changed after it was packed`, { hint: 'build it again' });
    outputs.push({ name: m.name, manifest: (await store.put(paths.manifest(m.name, m.version))).sha256, tarball: tarball.sha256 });
  }
  const main = manifests[0]!;
  const record: PackageRecord = {
    inputs,
    name: main.name,
    version: main.version,
    outputs,
    log: (await store.put(logFile)).sha256,
    at: new Date().toISOString(),
  };
  await store.publish(record);
  if (resolution) await store.resolve(resolution, Object.fromEntries(main.sources.map((x) => [x.url, x.sha256])));
  return record;
}

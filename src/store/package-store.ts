import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { IgluError } from '../errors.js';
import { exists } from '../util/exists.js';
import { hashFile } from '../util/hash.js';

/** One output of a stored build: its manifest and tarball, each by sha256. */
export interface StoredOutput {
  name: string;
  manifest: string;
  tarball: string;
}

/** packages/<inputs>.json: what one package build made, by content. */
export interface PackageRecord {
  /** The inputs hash (packages/inputs.ts) it was built from. */
  inputs: string;
  name: string;
  version: string;
  /** The main package first, then its subpackages. */
  outputs: StoredOutput[];
  /** sha256 of the log the build wrote. */
  log: string;
  /** ISO time the record was written. */
  at: string;
}

/** failed/<inputs>.json: the log of a failed build (OBuilder keeps failed builds' logs, never their results). */
export interface FailureRecord {
  inputs: string;
  name: string;
  version: string;
  /** sha256 of its log. */
  log: string;
  /** The node it failed on, when known. */
  node?: string;
  /** ISO time the failure was recorded. */
  at: string;
}

const SHA256 = /^[0-9a-f]{64}$/;
/** A spread job's staging token: 32 hex digits, random (nginx lets jobs PUT only below it). */
const TOKEN = /^[0-9a-f]{32}$/;

/** The store's JSON records, checked on every read (zod): a record that is not one counts as none. */
const sha256 = z.string().regex(SHA256);
const RECORDS = {
  packages: z.object({
    inputs: sha256,
    name: z.string(),
    version: z.string(),
    outputs: z.array(z.object({ name: z.string(), manifest: sha256, tarball: sha256 })).min(1),
    log: sha256,
    at: z.string(),
  }),
  failed: z.object({ inputs: sha256, name: z.string(), version: z.string(), log: sha256, node: z.string().optional(), at: z.string() }),
  resolved: z.object({ sources: z.record(z.string(), sha256) }),
  sources: z.object({ url: z.string(), sha256, size: z.number() }),
};
type RecordDir = keyof typeof RECORDS;

/**
 * The farm's content-addressed package store, as the manager sees it: the store volume's
 * directory on this host (store/service.ts serves the same directory over the overlay).
 * `cas/<sha256>` holds blobs (tarballs, manifests, logs, job bundles), `packages/<inputs>.json`
 * a PackageRecord per built inputs hash, `resolved/<key>.json` the sources a recipe was
 * built from (resolve: a manager that has not fetched them finds the inputs hash),
 * `failed/<inputs>.json` the log of the newest failed build of an inputs hash (a FailureRecord:
 * failed builds are never stored, their logs are), `sources/<sha256 of the URL>.json` the farm's pin of a source URL (its content is a blob
 * too: a manager without it in its source cache takes it from here), `staging/<token>/` what a job sent back (untrusted:
 * only read through takeStaged). Only the manager writes cas/ and packages/, each file
 * atomically (a temporary name, then rename(2)), so a reader never sees half a blob; every
 * blob read is checked against its sha256 (OBuilder's and Nix's store discipline).
 */
export class PackageStore {
  constructor(readonly dir: string) {}

  /** Makes the store's directories (idempotent). */
  async init(): Promise<void> {
    for (const d of ['cas', ...Object.keys(RECORDS), 'staging', '.tmp']) await mkdir(path.join(this.dir, d), { recursive: true, mode: 0o755 });
  }

  /** cas/<sha256>. @throws IgluError for a string that is not a sha256 */
  blobPath(sha256: string): string {
    if (!SHA256.test(sha256)) throw new IgluError(`"${sha256}" is not a sha256`, { hint: 'the package store names blobs by 64 lower-case hex digits' });
    return path.join(this.dir, 'cas', sha256);
  }

  /** Whether a blob is there. */
  async has(sha256: string): Promise<boolean> {
    return exists(this.blobPath(sha256));
  }

  /**
   * Adds a copy of a file as a blob, unless one with its sha256 is there already.
   * @returns its sha256 and size in bytes
   */
  async put(file: string): Promise<{ sha256: string; size: number }> {
    const tmp = this.tmpFile();
    try {
      await copyFile(file, tmp);
      return await this.adopt(tmp);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Moves a file made in the store's own temporary directory (tmpFile) in as a blob: no
   * copy, however big (a job's bundle).
   * @returns its sha256 and size in bytes
   */
  async adopt(tmp: string): Promise<{ sha256: string; size: number }> {
    if (path.dirname(tmp) !== path.join(this.dir, '.tmp'))
      throw new IgluError(`${tmp} is not in the package store's temporary directory`, { hint: 'this is a bug in iglu' });
    const h = await hashFile(tmp);
    const dest = this.blobPath(h.sha256);
    if (await exists(dest)) await rm(tmp, { force: true });
    else await rename(tmp, dest);
    return h;
  }

  /** Adds bytes as a blob. @returns their sha256 */
  async putBytes(data: string | Buffer): Promise<string> {
    const tmp = this.tmpFile();
    await writeFile(tmp, data, { mode: 0o644 });
    return (await this.adopt(tmp)).sha256;
  }

  /**
   * Copies a blob to `dest` (atomically; its directory is made) after checking its content
   * against its sha256.
   * @throws IgluError when it is missing or its content does not match (the blob is
   *   removed then: the next build makes it again)
   */
  async get(sha256: string, dest: string): Promise<void> {
    const src = this.blobPath(sha256);
    if (!(await exists(src))) throw new IgluError(`the package store has no blob ${sha256}`, { hint: 'build again with --rebuild' });
    const tmp = `${dest}.iglu-${randomBytes(4).toString('hex')}`;
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      await copyFile(src, tmp);
      const got = (await hashFile(tmp)).sha256;
      if (got !== sha256) {
        await rm(src, { force: true });
        throw new IgluError(`the package store's blob ${sha256} is damaged (its content hashes to ${got}); it was removed`, {
          hint: 'build again: the package is made anew',
        });
      }
      await rename(tmp, dest);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Removes a blob no record needs (a job's bundle, once the job ended). */
  async drop(sha256: string): Promise<void> {
    await rm(this.blobPath(sha256), { force: true });
  }

  /** The record of a build from `inputs`, or undefined when there is none or it is not one. */
  async record(inputs: string): Promise<PackageRecord | undefined> {
    const r = SHA256.test(inputs) ? await this.readRecord('packages', inputs) : undefined;
    return r?.inputs === inputs ? r : undefined;
  }

  /** Writes a build's record, atomically; every blob it names must be in the store. */
  async publish(record: PackageRecord): Promise<void> {
    for (const sha of [record.log, ...record.outputs.flatMap((o) => [o.manifest, o.tarball])]) {
      if (!(await this.has(sha)))
        throw new IgluError(`cannot record ${record.name}: blob ${sha} is not in the package store`, { hint: 'this is a bug in iglu; build again' });
    }
    await this.writeRecord('packages', record.inputs, record);
  }

  /**
   * Records a failed build's log (the blob must be in the store), replacing an older
   * failure of the same inputs; no package is recorded. Written atomically.
   * @throws IgluError when the log is not in the store
   */
  async recordFailure(failure: FailureRecord): Promise<void> {
    if (!SHA256.test(failure.inputs) || !(await this.has(failure.log)))
      throw new IgluError(`cannot record the failure of ${failure.name}: its log is not in the package store`, { hint: 'this is a bug in iglu' });
    await this.writeRecord('failed', failure.inputs, failure);
  }

  /** The newest failed build of `inputs`, or undefined when there is none or it is not one. */
  async failure(inputs: string): Promise<FailureRecord | undefined> {
    const r = SHA256.test(inputs) ? await this.readRecord('failed', inputs) : undefined;
    return r?.inputs === inputs ? r : undefined;
  }

  /**
   * The sources (URL → sha256) a build of resolution `key` (resolutionKey) used, or
   * undefined when none is recorded or the record is not one.
   */
  async resolved(key: string): Promise<Record<string, string> | undefined> {
    return SHA256.test(key) ? (await this.readRecord('resolved', key))?.sources : undefined;
  }

  /** Records the sources a build of resolution `key` used, atomically. @throws IgluError for a key that is not a sha256 */
  async resolve(key: string, sources: Record<string, string>): Promise<void> {
    if (!SHA256.test(key)) throw new IgluError(`"${key}" is not a sha256`, { hint: 'this is a bug in iglu' });
    await this.writeRecord('resolved', key, { sources });
  }

  /**
   * The farm's pin of a source URL: the content the first manager that fetched it got.
   * @returns its sha256 and size; undefined when there is none or the record is not one
   */
  async sourcePin(url: string): Promise<{ sha256: string; size: number } | undefined> {
    const r = await this.readRecord('sources', urlKey(url));
    return r?.url === url ? { sha256: r.sha256, size: r.size } : undefined;
  }

  /**
   * Pins a source URL to its content for the farm, unless it is pinned already (the first
   * pin stays, as in a source cache's lock file); the blob must be in the store.
   * @returns whether this call pinned it
   * @throws IgluError when the blob is not in the store
   */
  async pinSource(url: string, source: { sha256: string; size: number }): Promise<boolean> {
    if (!(await this.has(source.sha256)))
      throw new IgluError(`cannot pin ${url}: blob ${source.sha256} is not in the package store`, { hint: 'this is a bug in iglu' });
    if (await this.sourcePin(url)) return false;
    await this.writeRecord('sources', urlKey(url), { url, sha256: source.sha256, size: source.size });
    return true;
  }

  /** <dir>/<key>.json checked against its schema; undefined when it is missing, not JSON, or not such a record. */
  private async readRecord<D extends RecordDir>(dir: D, key: string): Promise<z.infer<(typeof RECORDS)[D]> | undefined> {
    const text = await readFile(path.join(this.dir, dir, `${key}.json`), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const parsed = RECORDS[dir].safeParse(JSON.parse(text));
      return parsed.success ? (parsed.data as z.infer<(typeof RECORDS)[D]>) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes <dir>/<key>.json atomically (a temporary file in the store, then rename(2)); a failed write leaves no temporary file. */
  private async writeRecord<D extends RecordDir>(dir: D, key: string, value: z.infer<(typeof RECORDS)[D]>): Promise<void> {
    const tmp = this.tmpFile();
    try {
      await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 });
      await rename(tmp, path.join(this.dir, dir, `${key}.json`));
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** A new staging token: what a job PUTs its outputs below. */
  static newToken(): string {
    return randomBytes(16).toString('hex');
  }

  /** staging/<token>/<file> on this host. @throws IgluError for a token or name that is not one */
  stagedPath(token: string, file: string): string {
    if (!TOKEN.test(token) || !/^[a-z0-9][a-z0-9.-]*$/.test(file)) throw new IgluError(`bad staging path ${token}/${file}`, { hint: 'this is a bug in iglu' });
    return path.join(this.dir, 'staging', token, file);
  }

  /**
   * Makes a job's staging directory, the only place the store's nginx lets that job PUT
   * (its out.tar: stacks/store-nginx.conf makes no directory for a PUT), before the job
   * is submitted.
   */
  async openStaging(token: string): Promise<void> {
    await mkdir(path.dirname(this.stagedPath(token, 'x')), { recursive: true, mode: 0o755 });
  }

  /** Removes a job's staging directory. */
  async dropStaged(token: string): Promise<void> {
    await rm(path.dirname(this.stagedPath(token, 'x')), { recursive: true, force: true });
  }

  /** A new file name in the store's temporary directory (same filesystem as cas/: rename(2) moves it in). */
  tmpFile(): string {
    return path.join(this.dir, '.tmp', `iglu-${randomBytes(8).toString('hex')}`);
  }
}

/** The name of a source URL's pin in sources/: sha256 of the URL. Pure. */
function urlKey(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

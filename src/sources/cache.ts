import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { checkImportable, checkSourceUrl } from './source-checks.js';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { IgluError } from '../errors.js';
import { log } from '../log.js';
import { exists } from '../util/exists.js';
import type { Workdir } from '../layout/workdir.js';
import { download } from './download.js';
import { DEFAULT_DOWNLOAD_POLICY, type DownloadPolicy } from './address-rules.js';
import { hashFile } from '../util/hash.js';
import { emptyLock, parseLock, serializeLock, type LockedSource, type SourceLock } from './lock-file.js';

/** A cached source as `iglu sources list` reports it. */
export interface CachedSource extends LockedSource {
  url: string;
  /** Whether the content file is in the cache. */
  present: boolean;
}

/** One line of `iglu sources verify`. */
export interface VerifiedSource extends CachedSource {
  status: 'ok' | 'missing' | 'mismatch';
  /** SHA-256 the file in the cache actually has (when present). */
  actual?: string;
}

/** Where a fetched file came from: this cache, a SourceMirror, or the network. */
export interface FetchedSource extends LockedSource {
  url: string;
  from: 'cache' | 'mirror' | 'network';
}

/**
 * Another place a URL's content may already be (the farm's package store), asked on a
 * cache miss before the network, offline too. What it gives is hashed and checked against
 * the URL's pin like a download.
 */
export interface SourceMirror {
  /** What messages call it, e.g. "the farm's package store". */
  name: string;
  /**
   * Copies the content of `url` to `dest` (a new file).
   * @param pinned the sha256 this cache pins the URL to, when it does
   * @returns false when it does not have it
   */
  copy(url: string, pinned: string | undefined, dest: string): Promise<boolean>;
}

/**
 * The source cache: files stored content-addressed by SHA-256 under `<dir>/sha256/`,
 * and a lock file `<dir>/sources.lock.json` pinning each URL to the content it gave
 * the first time. Writers take an advisory lock on the directory (proper-lockfile),
 * write to a temporary file and rename, so a crash leaves no half-written entry and
 * several fetches may run at once.
 */
export class SourceCache {
  readonly lockFile: string;

  /**
   * @param dir the cache directory (normally `<workdir>/sources`)
   * @param policy what a download may reach (address-rules.ts)
   */
  constructor(
    readonly dir: string,
    readonly policy: DownloadPolicy = DEFAULT_DOWNLOAD_POLICY,
  ) {
    this.lockFile = path.join(dir, 'sources.lock.json');
  }

  /**
   * The source cache of a work directory: `<workdir>/sources`, downloading as iglu.yaml's
   * `sources.allowHosts` and `sources.maxMiB` say (public addresses only, 4 GiB, without).
   */
  static of(workdir: Workdir, sources?: { allowHosts: string[]; maxMiB: number }): SourceCache {
    const policy = sources ? { allowHosts: sources.allowHosts, maxBytes: sources.maxMiB * 1024 * 1024 } : DEFAULT_DOWNLOAD_POLICY;
    return new SourceCache(workdir.sourcesDir, policy);
  }

  /** Path of the content file for a SHA-256. */
  blob(sha256: string): string {
    return path.join(this.dir, 'sha256', sha256);
  }

  /** The lock file's contents (empty when there is none). @throws IgluError when it is damaged */
  async readLock(): Promise<SourceLock> {
    const text = await readFile(this.lockFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    return text === undefined ? emptyLock() : parseLock(text, this.lockFile);
  }

  /** Every pinned URL, sorted, and whether its content is present. */
  async list(): Promise<CachedSource[]> {
    const lock = await this.readLock();
    return Promise.all(
      Object.keys(lock.sources)
        .sort()
        .map(async (url) => {
          const entry = lock.sources[url]!;
          return { url, ...entry, present: await exists(this.blob(entry.sha256)) };
        }),
    );
  }

  /** Re-hashes every cached file against the lock file. Changes nothing. */
  async verify(): Promise<VerifiedSource[]> {
    const out: VerifiedSource[] = [];
    for (const s of await this.list()) {
      if (!s.present) {
        out.push({ ...s, status: 'missing' });
        continue;
      }
      const { sha256 } = await hashFile(this.blob(s.sha256));
      out.push({ ...s, status: sha256 === s.sha256 ? 'ok' : 'mismatch', actual: sha256 });
    }
    return out;
  }

  /**
   * Adds `file` to the cache as the content of `url`.
   * @param opts.expect SHA-256 the file must have (a pinned seed)
   * @throws IgluError when the URL is already pinned to other content (unless `force`),
   *   or the file does not have `expect`
   */
  async import(url: string, file: string, opts: { force?: boolean; expect?: string } = {}): Promise<LockedSource & { added: boolean }> {
    checkSourceUrl(url);
    await checkImportable(file);
    await mkdir(this.dir, { recursive: true });
    const tmp = await this.tempFile();
    try {
      await copyFile(file, tmp).catch((err: unknown) => {
        throw new IgluError(`cannot read ${file}: ${(err as Error).message}`, { hint: 'give the path of the downloaded source file', cause: err });
      });
      const got = await hashFile(tmp);
      if (opts.expect && got.sha256 !== opts.expect) throw mismatch(url, opts.expect, got.sha256, file);
      return await this.withLock(async (lock) => {
        const pinned = lock.sources[url];
        if (pinned && pinned.sha256 !== got.sha256 && !opts.force)
          throw mismatch(url, pinned.sha256, got.sha256, file, '--force to re-pin the URL to this file');
        await this.store(tmp, got.sha256);
        lock.sources[url] = got;
        return { ...got, added: !pinned || pinned.sha256 !== got.sha256 };
      });
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Copies the content of `url` to `dest` (see `ensure`).
   * @throws IgluError as `ensure` does
   */
  async fetch(url: string, dest: string, opts: { offline?: boolean } = {}): Promise<FetchedSource> {
    const got = await this.ensure(url, opts);
    await copyFile(this.blob(got.sha256), dest);
    return got;
  }

  /**
   * Makes sure the content of `url` is in the cache: when pinned and present it is
   * verified (on every read); else it is taken from `mirror` when that has it (even
   * offline), else downloaded once (never offline); then stored and pinned.
   * @param opts.offline never download
   * @param opts.mirror another place the content may already be (the farm's package store)
   * @returns where it came from, its sha256 and size; the content is at `blob(sha256)`
   * @throws IgluError for a URL not in the cache nor the mirror while offline, a download
   *   failure, or a content mismatch (naming the URL, expected and actual SHA-256); nothing
   *   good is deleted
   */
  async ensure(url: string, opts: { offline?: boolean; mirror?: SourceMirror } = {}): Promise<FetchedSource> {
    const pinned = (await this.readLock()).sources[url];
    if (pinned && (await exists(this.blob(pinned.sha256)))) {
      const got = await hashFile(this.blob(pinned.sha256));
      if (got.sha256 !== pinned.sha256)
        throw mismatch(
          url,
          pinned.sha256,
          got.sha256,
          this.blob(pinned.sha256),
          'the cached file is damaged: `iglu sources verify` lists all; re-import a good copy with `iglu sources import FILE --url URL --force`',
        );
      log.sources('%s from cache (%s)', url, pinned.sha256.slice(0, 12));
      return { url, ...pinned, from: 'cache' };
    }
    await mkdir(this.dir, { recursive: true });
    const tmp = await this.tempFile();
    try {
      let mirrorError: string | undefined;
      const mirrored = opts.mirror
        ? await opts.mirror.copy(url, pinned?.sha256, tmp).catch((err: unknown) => {
            mirrorError = err instanceof Error ? err.message : String(err);
            log.sources('%s: %s did not give it: %s', url, opts.mirror!.name, mirrorError);
            return false;
          })
        : false;
      if (!mirrored) {
        const why = mirrorError ? ` (${opts.mirror!.name}: ${mirrorError})` : '';
        if (opts.offline)
          throw new IgluError(`source not in the cache${opts.mirror ? ` nor ${opts.mirror.name}` : ''}, and iglu is offline: ${url}${why}`, {
            hint: `seed it: iglu sources import FILE --url ${url} (or iglu sources seed for the default tree)`,
          });
        await download(url, tmp, this.policy);
      }
      const got = await hashFile(tmp);
      if (pinned && got.sha256 !== pinned.sha256) throw mismatch(url, pinned.sha256, got.sha256, mirrored ? opts.mirror!.name : url);
      await this.withLock(async (lock) => {
        await this.store(tmp, got.sha256);
        lock.sources[url] = got;
      });
      log.sources('%s %s (%s, %d bytes)', url, mirrored ? `from ${opts.mirror!.name}` : 'downloaded', got.sha256.slice(0, 12), got.size);
      return { url, ...got, from: mirrored ? 'mirror' : 'network' };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async tempFile(): Promise<string> {
    const dir = path.join(this.dir, 'tmp');
    await mkdir(dir, { recursive: true });
    return path.join(dir, `${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /**
   * Moves a verified temporary file to its content address. rename(2) replaces an
   * existing file atomically, so a damaged copy there is repaired, never half-written.
   */
  private async store(tmp: string, sha256: string): Promise<void> {
    const dest = this.blob(sha256);
    await mkdir(path.dirname(dest), { recursive: true });
    await rename(tmp, dest);
  }

  /** Read-modify-write of the lock file under the directory lock; written atomically. */
  private async withLock<T>(change: (lock: SourceLock) => Promise<T>): Promise<T> {
    const release = await lockfile.lock(this.dir, {
      lockfilePath: path.join(this.dir, '.lock'),
      retries: { retries: 50, minTimeout: 50, maxTimeout: 500 },
      realpath: false,
    });
    try {
      const lock = await this.readLock();
      const result = await change(lock);
      const tmp = `${this.lockFile}.${process.pid}.tmp`;
      await writeFile(tmp, serializeLock(lock));
      await rename(tmp, this.lockFile);
      return result;
    } finally {
      await release();
    }
  }
}

function mismatch(
  url: string,
  expected: string,
  actual: string,
  where: string,
  hint = 'check where the file came from; a changed upstream file needs a new pin (`iglu sources import … --force`)',
): IgluError {
  return new IgluError(`sha256 mismatch for ${url}: expected ${expected}, got ${actual} (${where})`, { hint });
}

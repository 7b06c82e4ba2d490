import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { interrupted } from '../util/abort.js';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { IgluError } from '../errors.js';
import { log } from '../log.js';
import { parseShowsrc, versionsCarrying } from './apt-index.js';
import type { SourceCache } from './cache.js';

const SeedSchema = z.strictObject({
  sources: z.array(
    z
      .strictObject({
        url: z.string().url(),
        /** Debian source package whose orig tarball is this file. */
        debian: z.string().regex(/^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/, 'a Debian source package name, optionally =VERSION'),
        /** File name apt-get source writes. */
        file: z.string().regex(/^[^/]+$/),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        upstream: z.enum(['identical', 'repack']),
        note: z.string().optional(),
      })
      .refine((s) => s.upstream === 'identical' || s.note, { message: 'a repack needs a note saying how it differs from upstream', path: ['note'] }),
  ),
});

/** One entry of a tree's `sources.seed.yaml`. */
export type SeedEntry = z.infer<typeof SeedSchema>['sources'][number];

/** The seed file of a recipe tree. */
export function seedFile(tree: string): string {
  return path.join(tree, 'sources.seed.yaml');
}

/**
 * Reads a tree's `sources.seed.yaml`.
 * @throws IgluError naming the file and the entry that is wrong
 */
export async function readSeed(file: string): Promise<SeedEntry[]> {
  const text = await readFile(file, 'utf8').catch((err: unknown) => {
    throw new IgluError(`cannot read ${file}: ${(err as Error).message}`, {
      hint: 'a tree lists the Debian source files that stand in for its URLs in sources.seed.yaml',
      cause: err,
    });
  });
  const parsed = SeedSchema.safeParse(parseDocument(text).toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new IgluError(`${file}: ${issue.path.join('.')}: ${issue.message}`, {
      hint: 'each entry needs url, debian, file, sha256 and upstream (identical|repack)',
    });
  }
  return parsed.data.sources;
}

/** What `iglu sources seed` did for one entry. */
export interface SeedResult {
  url: string;
  sha256: string;
  upstream: 'identical' | 'repack';
  action: 'present' | 'seeded';
}

const APT_HINT = 'apt needs a deb-src entry: scripts/setup.sh adds one (a Types: deb-src copy of /etc/apt/sources.list.d/debian.sources), then apt-get update';

/**
 * Puts every seed entry that the cache lacks into it, from Debian's source archive
 * (`apt-get source --download-only --tar-only PACKAGE=VERSION`, apt-get(8)), checking each
 * file's pinned sha256. Entries already cached are left alone. An entry without a version
 * may come from any Debian revision whose source carries its file with its sha256 (as
 * `apt-cache showsrc` lists them): each is tried in turn until one is fetched, since a
 * security update's archive need not hold the orig tarball it shares with the release.
 * @throws IgluError when apt knows no such version, apt-get cannot fetch any of them (no
 *   deb-src entry, unknown package), or a file does not match its pin; `interrupted` when
 *   `signal` aborts (apt-get is stopped, its scratch directory removed, the cache unchanged)
 */
export async function seedSources(cache: SourceCache, entries: SeedEntry[], signal?: AbortSignal): Promise<SeedResult[]> {
  const cached = new Map((await cache.list()).map((c) => [c.url, c]));
  const missing = entries.filter((e) => cached.get(e.url)?.sha256 !== e.sha256 || !cached.get(e.url)?.present);
  const results: SeedResult[] = entries
    .filter((e) => !missing.includes(e))
    .map((e) => ({ url: e.url, sha256: e.sha256, upstream: e.upstream, action: 'present' }));
  if (missing.length === 0) return results.sort((a, b) => a.url.localeCompare(b.url));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'iglu-seed-'));
  try {
    const byPackage = new Map<string, SeedEntry[]>();
    for (const e of missing) byPackage.set(e.debian, [...(byPackage.get(e.debian) ?? []), e]);
    const unpinned = [...byPackage.keys()].filter((d) => !d.includes('='));
    const index = unpinned.length ? parseShowsrc(await showsrc(unpinned, signal)) : [];
    for (const [debian, group] of byPackage) {
      const specs = debian.includes('=') ? [debian] : versionsCarrying(index, debian, group);
      if (specs.length === 0) {
        throw new IgluError(
          `apt knows no source version of ${debian} whose files include ${group.map((e) => `${e.file} (sha256 ${e.sha256.slice(0, 12)}…)`).join(', ')}`,
          { hint: APT_HINT },
        );
      }
      await aptGetSource(specs, dir, signal);
    }
    for (const e of missing) {
      await cache.import(e.url, path.join(dir, e.file), { expect: e.sha256 });
      results.push({ url: e.url, sha256: e.sha256, upstream: e.upstream, action: 'seeded' });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results.sort((a, b) => a.url.localeCompare(b.url));
}

/** `apt-cache showsrc PACKAGE…` (apt-cache(8)): the source index entries apt knows. */
async function showsrc(packages: string[], signal?: AbortSignal): Promise<string> {
  const res = await execa('apt-cache', ['showsrc', ...packages], { reject: false, cancelSignal: signal });
  if (res.isCanceled || signal?.aborted) throw interrupted('iglu sources seed');
  return String(res.stdout ?? '');
}

/**
 * Runs `apt-get source --download-only --tar-only` in `dir` for each of `specs` in turn
 * until one succeeds.
 * @throws IgluError with the last failure's tail when none succeeds; `interrupted`
 */
async function aptGetSource(specs: string[], dir: string, signal?: AbortSignal): Promise<void> {
  let last = '';
  for (const spec of specs) {
    log.sources('apt-get source %s', spec);
    const res = await execa('apt-get', ['source', '--download-only', '--tar-only', spec], {
      cwd: dir,
      reject: false,
      all: true,
      cancelSignal: signal,
      forceKillAfterDelay: 2000,
    });
    if (res.isCanceled || signal?.aborted) throw interrupted('iglu sources seed');
    if (res.exitCode === 0) return;
    last =
      String(res.all ?? '')
        .trim()
        .split('\n')
        .slice(-2)
        .join(' ') || `exit ${res.exitCode ?? 'none'}`;
    log.sources('apt-get source %s failed: %s', spec, last);
  }
  const tried = specs.length === 1 ? specs[0] : `every version that carries the file (${specs.join(', ')}; the last said)`;
  throw new IgluError(`apt-get source failed for ${tried}: ${last}`, { hint: APT_HINT });
}

import type { SourceCache, SourceMirror } from '../sources/cache.js';
import type { LockedSource } from '../sources/lock-file.js';
import type { PackageStore } from './package-store.js';

/**
 * The package store as a source mirror (SourceCache.ensure): the content a URL is pinned
 * to — by this machine's source cache when it pins it, else by the farm (sources/) — from
 * the store's cas/, checked against its sha256 (PackageStore.get).
 */
export function storeMirror(store: PackageStore): SourceMirror {
  return {
    name: "the farm's package store",
    async copy(url, pinned, dest) {
      const sha256 = pinned ?? (await store.sourcePin(url))?.sha256;
      if (!sha256 || !(await store.has(sha256))) return false;
      await store.get(sha256, dest);
      return true;
    },
  };
}

/**
 * Puts the sources a package was fetched from into the store: each one's content from
 * the source cache as a blob, and the URL's farm pin (the first pin stays). Then a manager
 * whose source cache lacks them takes them from the store (storeMirror).
 * @param used URL, sha256 and size of each source (the fetch phase's FetchOutcome.sources)
 * @returns how many blobs this call added
 */
export async function publishSources(store: PackageStore, cache: SourceCache, used: ({ url: string } & LockedSource)[]): Promise<number> {
  let added = 0;
  for (const s of used) {
    if (!(await store.has(s.sha256))) {
      const got = await store.put(cache.blob(s.sha256));
      // the cache's file changed since it was read: not pinned (its blob, named by what it
      // holds, harms nothing); the next fetch verifies the cache
      if (got.sha256 !== s.sha256) continue;
      added++;
    }
    await store.pinSource(s.url, s);
  }
  return added;
}

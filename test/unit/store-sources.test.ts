import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { IgluError } from '../../src/errors.js';
import { SourceCache } from '../../src/sources/cache.js';
import { PackageStore } from '../../src/store/package-store.js';
import { publishSources, storeMirror } from '../../src/store/source-mirror.js';

const URL_A = 'https://example.org/a-1.0.tar.gz';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A store, and a source cache that holds URL_A (as a manager that fetched it has). */
async function fetchedOnce(content = 'release a 1.0\n') {
  const tmp = mkdtempSync(path.join(tmpdir(), 'iglu-srcstore-'));
  const store = new PackageStore(path.join(tmp, 'store'));
  await store.init();
  const file = path.join(tmp, 'a.tar.gz');
  writeFileSync(file, content);
  const first = new SourceCache(path.join(tmp, 'first'));
  const pinned = await first.import(URL_A, file);
  return { tmp, store, first, pinned };
}

test('a source another manager fetched comes from the store into an empty cache, offline, and is pinned there', async () => {
  const { tmp, store, first, pinned } = await fetchedOnce();
  assert.equal(await publishSources(store, first, [{ url: URL_A, ...pinned }]), 1);
  assert.equal(await publishSources(store, first, [{ url: URL_A, ...pinned }]), 0, 'a blob goes in once');
  const other = new SourceCache(path.join(tmp, 'other'));
  const got = await other.ensure(URL_A, { offline: true, mirror: storeMirror(store) });
  assert.equal(got.from, 'mirror');
  assert.equal(got.sha256, sha('release a 1.0\n'));
  assert.equal(readFileSync(other.blob(got.sha256), 'utf8'), 'release a 1.0\n');
  assert.equal((await other.readLock()).sources[URL_A]?.sha256, got.sha256, 'pinned as a download would be');
  assert.equal((await other.ensure(URL_A, { offline: true })).from, 'cache', "the next read is the cache's");
});

test("the farm's first pin stays; a cache that pins the URL to other content refuses the store's", async () => {
  const { tmp, store, first, pinned } = await fetchedOnce();
  await publishSources(store, first, [{ url: URL_A, ...pinned }]);
  assert.equal(await store.pinSource(URL_A, pinned), false);
  // a machine that pinned the URL to other bytes: the store holds no blob of its pin
  const other = new SourceCache(path.join(tmp, 'other'));
  const elsewhere = path.join(tmp, 'b');
  writeFileSync(elsewhere, 'a different release\n');
  const theirs = await other.import(URL_A, elsewhere);
  await import('node:fs/promises').then((fs) => fs.rm(other.blob(theirs.sha256)));
  await assert.rejects(
    other.ensure(URL_A, { offline: true, mirror: storeMirror(store) }),
    (err: unknown) => err instanceof IgluError && /not in the cache nor the farm's package store, and iglu is offline/.test(err.message),
  );
});

test('a damaged blob in the store is never taken: it is removed and the fetch says what is missing', async () => {
  const { tmp, store, first, pinned } = await fetchedOnce();
  await publishSources(store, first, [{ url: URL_A, ...pinned }]);
  writeFileSync(store.blobPath(pinned.sha256), 'tampered\n');
  const other = new SourceCache(path.join(tmp, 'other'));
  await assert.rejects(
    other.ensure(URL_A, { offline: true, mirror: storeMirror(store) }),
    /iglu is offline: .*\(the farm's package store: the package store's blob [0-9a-f]{64} is damaged/,
  );
  assert.equal(await store.has(pinned.sha256), false, 'the damaged blob is gone');
  assert.equal((await other.readLock()).sources[URL_A], undefined, 'nothing was pinned');
});

test('a URL the store does not know is not invented: offline still fails, naming the URL', async () => {
  const { tmp, store } = await fetchedOnce();
  const other = new SourceCache(path.join(tmp, 'other'));
  assert.equal(await store.sourcePin('https://example.org/unknown.tar.gz'), undefined);
  await assert.rejects(other.ensure('https://example.org/unknown.tar.gz', { offline: true, mirror: storeMirror(store) }), /unknown\.tar\.gz/);
});

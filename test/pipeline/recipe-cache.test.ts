// Recipes' readings kept in the work directory: used while the recipe's directory is the
// same, read again (in the sandbox) when it changes or the entry is damaged.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { RecipeCache } from '../../src/recipes/read-cache.js';
import { readTree } from '../../src/recipes/read.js';

test('a reading is kept by what it depends on: reused while the recipe is the same, read again when a file beside it changes or the entry is damaged', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'iglu-recipe-cache-'));
  try {
    const tree = path.join(dir, 'tree');
    await mkdir(path.join(tree, 'base/a'), { recursive: true });
    await writeFile(path.join(tree, 'base/a/build.sh'), 'pkgname=a\npkgver=1\ndesc="first"\nfetch() { :; }\n');
    const cache = new RecipeCache(path.join(dir, 'cache'));
    const first = await readTree(tree, undefined, cache);
    assert.equal(first[0]?.desc, 'first');
    const entries = await readdir(cache.dir);
    assert.equal(entries.length, 1);
    const entry = entries[0]!;
    assert.ok(entry.endsWith('.json'));
    // an entry says what a reading gave: the next reading takes it from there
    const file = path.join(cache.dir, entry);
    await writeFile(file, (await readFile(file, 'utf8')).replace('"first"', '"from the cache"'));
    assert.equal((await readTree(tree, undefined, cache))[0]?.desc, 'from the cache');
    // a damaged entry is read again
    await writeFile(file, '{"name": 1}');
    assert.equal((await readTree(tree, undefined, cache))[0]?.desc, 'first');
    // a file beside build.sh (one it may source) changes the key
    await writeFile(file, (await readFile(file, 'utf8')).replace('"first"', '"stale"'));
    await writeFile(path.join(tree, 'base/a/extra.patch'), 'x\n');
    assert.equal((await readTree(tree, undefined, cache))[0]?.desc, 'first');
    assert.equal((await readdir(cache.dir)).filter((f) => f.endsWith('.json')).length, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

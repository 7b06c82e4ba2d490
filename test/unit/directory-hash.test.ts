import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CHROOT_SCRIPTS } from '../../src/layout/in-root.js';
import { directoryHash, runnerIdentity } from '../../src/packages/recipe-hash.js';

test('directoryHash changes with any file of the directory, a nested one included, and the runner identity is the hash of chroot/', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'iglu-dirhash-'));
  try {
    await mkdir(path.join(dir, 'target-bin'));
    await writeFile(path.join(dir, 'iglupkg.sh'), 'echo one\n');
    await writeFile(path.join(dir, 'target-bin/cc'), '#!/bin/sh\n');
    const first = await directoryHash(dir);
    assert.equal(await directoryHash(dir), first, 'the same files give the same hash');
    await writeFile(path.join(dir, 'target-bin/cc'), '#!/bin/sh\nexit 1\n');
    const second = await directoryHash(dir);
    assert.notEqual(second, first, 'a nested file changed');
    await writeFile(path.join(dir, 'extra'), '');
    assert.notEqual(await directoryHash(dir), second, 'a new empty file changes it');
    assert.equal(await runnerIdentity(), await directoryHash(CHROOT_SCRIPTS));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

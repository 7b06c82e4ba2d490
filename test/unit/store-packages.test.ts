import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { IgluError } from '../../src/errors.js';
import type { PackageManifest } from '../../src/packages/manifest.js';
import { writeManifest } from '../../src/packages/pack.js';
import { PackagePaths } from '../../src/layout/package-paths.js';
import { PackageStore, type PackageRecord } from '../../src/store/package-store.js';
import { publishToStore, restoreFromStore } from '../../src/store/package-transfer.js';
import { Workdir } from '../../src/layout/workdir.js';

const INPUTS = 'a'.repeat(64);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A work directory whose out/ holds zlib and its subpackage zlib-dev as a build leaves them, and its log. */
async function builtHere(tmp: string, name: string) {
  const paths = new PackagePaths(new Workdir(path.join(tmp, name)));
  mkdirSync(paths.outDir, { recursive: true });
  mkdirSync(path.dirname(paths.logFile('zlib')), { recursive: true });
  const manifests: PackageManifest[] = [];
  for (const pkg of ['zlib', 'zlib-dev']) {
    const bytes = `tarball of ${pkg}\n`;
    writeFileSync(paths.tarball(pkg, '1.3'), bytes);
    const m = {
      name: pkg,
      version: '1.3',
      release: '1',
      recipe: { file: 'libs/zlib/build.sh', sha256: sha('recipe') },
      sources: [{ url: 'https://example.org/zlib-1.3.tar.gz', sha256: sha('src'), size: 3, at: '2026-01-01T00:00:00Z' }],
      tarball: { file: `${pkg}.1.3.tar.zst`, sha256: sha(bytes), size: bytes.length },
      files: [],
      installedSize: 0,
      build: { at: '2026-01-01T00:00:00Z', seconds: 1, where: 'chroot' },
      inputs: INPUTS,
    } as unknown as PackageManifest;
    await writeManifest(paths.manifest(pkg, '1.3'), m);
    manifests.push(m);
  }
  writeFileSync(paths.logFile('zlib'), 'zlib: built\n');
  return { paths, manifests };
}

async function emptyStore(tmp: string) {
  const store = new PackageStore(path.join(tmp, 'store'));
  await store.init();
  return store;
}

test('a published build is restored into another work directory: every output, its manifest and the log it was built with', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'iglu-pkgstore-'));
  const store = await emptyStore(tmp);
  const { paths, manifests } = await builtHere(tmp, 'a');
  const record = await publishToStore(store, INPUTS, manifests, paths, paths.logFile('zlib'));
  assert.deepEqual(
    record.outputs.map((o) => o.name),
    ['zlib', 'zlib-dev'],
  );
  assert.equal(record.log, sha('zlib: built\n'));

  const other = new PackagePaths(new Workdir(path.join(tmp, 'b')));
  mkdirSync(other.outDir, { recursive: true });
  const got = await restoreFromStore(store, INPUTS, other, other.logFile('zlib'));
  assert.deepEqual(
    got?.map((m) => m.name),
    ['zlib', 'zlib-dev'],
    'the main package first',
  );
  for (const pkg of ['zlib', 'zlib-dev']) {
    assert.equal(readFileSync(other.tarball(pkg, '1.3'), 'utf8'), `tarball of ${pkg}\n`);
    assert.deepEqual(JSON.parse(readFileSync(other.manifest(pkg, '1.3'), 'utf8')), JSON.parse(readFileSync(paths.manifest(pkg, '1.3'), 'utf8')));
  }
  assert.equal(readFileSync(other.logFile('zlib'), 'utf8'), 'zlib: built\n');
  assert.deepEqual(
    readdirSync(other.outDir).filter((f) => f.startsWith('.')),
    [],
    'no scratch directory is left in out/',
  );
  assert.equal(await restoreFromStore(store, 'b'.repeat(64), other, other.logFile('zlib')), undefined, 'inputs never built: nothing');
});

test('a tarball changed after it was packed is never published, and no record names it', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'iglu-pkgstore-'));
  const store = await emptyStore(tmp);
  const { paths, manifests } = await builtHere(tmp, 'a');
  writeFileSync(paths.tarball('zlib-dev', '1.3'), 'changed afterwards\n');
  await assert.rejects(
    publishToStore(store, INPUTS, manifests, paths, paths.logFile('zlib')),
    (err: unknown) => err instanceof IgluError && /zlib-dev's tarball changed after it was packed/.test(err.message),
  );
  assert.equal(await store.record(INPUTS), undefined);
});

/**
 * Publishes zlib from work directory a, writes the record `edit` makes of it, and restores
 * that record's inputs into an empty work directory b.
 * @returns the restore's rejection (or undefined when it did not reject) and b's out/ after it
 */
async function restoreEdited(edit: (r: PackageRecord) => PackageRecord) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'iglu-pkgstore-'));
  const store = await emptyStore(tmp);
  const { paths, manifests } = await builtHere(tmp, 'a');
  const edited = edit(await publishToStore(store, INPUTS, manifests, paths, paths.logFile('zlib')));
  await store.publish(edited);
  const other = new PackagePaths(new Workdir(path.join(tmp, 'b')));
  mkdirSync(other.outDir, { recursive: true });
  const error = await restoreFromStore(store, edited.inputs, other, other.logFile('zlib')).then(
    () => undefined,
    (err: unknown) => err,
  );
  return { error, out: readdirSync(other.outDir) };
}

const refused = (error: unknown, of: string) => error instanceof IgluError && new RegExp(`does not match its manifest of ${of}$`).test(error.message);

test('a record whose manifest names another build is refused on restore, and out/ gets nothing of it', async () => {
  // a record of other inputs that points at these blobs: its manifests say INPUTS, not OTHER
  const { error, out } = await restoreEdited((r) => ({ ...r, inputs: 'c'.repeat(64) }));
  assert.ok(refused(error, 'zlib'), String(error));
  assert.deepEqual(out, [], 'no tarball, manifest or scratch directory');
});

test('restoring is all or nothing: a second output that does not match leaves out/ without the first', async () => {
  // zlib-dev's entry names zlib's tarball: zlib checks out, zlib-dev does not
  const { error, out } = await restoreEdited((r) => ({ ...r, outputs: [r.outputs[0]!, { ...r.outputs[1]!, tarball: r.outputs[0]!.tarball }] }));
  assert.ok(refused(error, 'zlib-dev'), String(error));
  assert.deepEqual(out, [], 'zlib was not put in place either');
});

test("a record whose manifest blob is not a manifest is refused with the store's error, not a parser's", async () => {
  // the log blob (plain text) named as zlib's manifest
  const { error, out } = await restoreEdited((r) => ({ ...r, outputs: [{ ...r.outputs[0]!, manifest: r.log }] }));
  assert.ok(refused(error, 'zlib'), String(error));
  assert.deepEqual(out, []);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IgluError } from '../../src/errors.js';
import { upToDate, type PackageManifest } from '../../src/packages/manifest.js';
import { parseShowsrc, versionsCarrying } from '../../src/sources/apt-index.js';
import { checkSourceUrl } from '../../src/sources/source-checks.js';
import { parseLock, serializeLock } from '../../src/sources/lock-file.js';
import { parseCurl, parseGit, parseWget, remoteName } from '../../src/sources/shim-args.js';

const U = 'https://example.org/rel/pkg-1.0.tar.gz';

test('curl: -o FILE, -O, grouped flags, several URLs, stdout', () => {
  assert.deepEqual(parseCurl(['-L', U, '-o', 'x.tgz']), { kind: 'download', tool: 'curl', urls: [{ url: U, output: 'x.tgz' }] });
  assert.deepEqual(parseCurl(['-fsSLO', U]), { kind: 'download', tool: 'curl', urls: [{ url: U, output: 'pkg-1.0.tar.gz' }] });
  assert.deepEqual(parseCurl(['-sLo', 'a.tgz', U]), { kind: 'download', tool: 'curl', urls: [{ url: U, output: 'a.tgz' }] });
  assert.deepEqual(parseCurl(['-Lox.tgz', U]).kind === 'download' && (parseCurl(['-Lox.tgz', U]) as { urls: { output: string }[] }).urls[0]!.output, 'x.tgz');
  assert.deepEqual(parseCurl([U]), { kind: 'download', tool: 'curl', urls: [{ url: U, output: '-' }] });
  assert.deepEqual(parseCurl(['--retry', '3', '-H', 'Accept: x', U, '--output', 'o']), { kind: 'download', tool: 'curl', urls: [{ url: U, output: 'o' }] });
  const two = parseCurl(['-O', `${U}?a`, '-o', 'second', 'https://example.org/b.tgz']);
  assert.deepEqual(two, {
    kind: 'download',
    tool: 'curl',
    urls: [
      { url: `${U}?a`, output: 'pkg-1.0.tar.gz' },
      { url: 'https://example.org/b.tgz', output: 'second' },
    ],
  });
  assert.equal(parseCurl(['-s']).kind, 'unsupported');
});

test('wget: -O FILE, -P DIR, default name', () => {
  assert.deepEqual(parseWget(['-q', U]), { kind: 'download', tool: 'wget', urls: [{ url: U, output: 'pkg-1.0.tar.gz' }] });
  assert.deepEqual(parseWget(['-O', 'f.tgz', U]), { kind: 'download', tool: 'wget', urls: [{ url: U, output: 'f.tgz' }] });
  assert.deepEqual(parseWget(['-P', 'dl', U]), { kind: 'download', tool: 'wget', urls: [{ url: U, output: 'dl/pkg-1.0.tar.gz' }] });
  assert.deepEqual(parseWget(['-O-', U]), { kind: 'download', tool: 'wget', urls: [{ url: U, output: '-' }] });
});

test('git: network subcommands are refused with a reason, local ones pass through', () => {
  const clone = parseGit(['clone', '--depth=1', 'https://example.org/r.git']);
  assert.equal(clone.kind, 'unsupported');
  assert.match((clone as { reason: string }).reason, /git clone.*tarball/);
  assert.equal(parseGit(['-C', 'src', 'fetch']).kind, 'unsupported');
  assert.deepEqual(parseGit(['apply', '../fix.patch']), { kind: 'passthrough', tool: 'git' });
});

test('remote names decode and fall back to index.html', () => {
  assert.equal(remoteName('https://h/a%20b.tgz?x=1'), 'a b.tgz');
  assert.equal(remoteName('https://h/'), 'index.html');
});

test('lock file: sorted on write, damaged text names the file and field', () => {
  const text = serializeLock({ version: 1, sources: { 'https://b': { sha256: 'b'.repeat(64), size: 2 }, 'https://a': { sha256: 'a'.repeat(64), size: 1 } } });
  assert.ok(text.indexOf('https://a') < text.indexOf('https://b'));
  assert.deepEqual(parseLock(text, 'L').sources['https://a'], { sha256: 'a'.repeat(64), size: 1 });
  assert.throws(
    () => parseLock('{', '/w/sources.lock.json'),
    (e: unknown) => e instanceof IgluError && /\/w\/sources\.lock\.json: not valid JSON/.test(e.message),
  );
  assert.throws(
    () => parseLock('{"version":1,"sources":{"u":{"sha256":"xyz","size":1}}}', 'L'),
    (e: unknown) => e instanceof IgluError && /L: sources\.u\.sha256/.test(e.message),
  );
});

test('a package is up to date only with the same recipe and the same pinned sources', () => {
  const m = { recipe: { file: 'f', sha256: 'r1' }, sources: [{ url: U, sha256: 's1', size: 1 }] } as PackageManifest;
  assert.equal(upToDate(m, 'r1', { [U]: { sha256: 's1', size: 1 } }), true);
  assert.equal(upToDate(m, 'r2', { [U]: { sha256: 's1', size: 1 } }), false, 'recipe changed');
  assert.equal(upToDate(m, 'r1', { [U]: { sha256: 's2', size: 1 } }), false, 'source re-pinned');
  assert.equal(upToDate(m, 'r1', {}), false, 'source no longer pinned');
  assert.equal(upToDate(undefined, 'r1', {}), false);
});

test('checkSourceUrl: http and https URLs with a host pass; anything else (ftp, which the broker never serves; spaces) is refused, named', () => {
  for (const ok of ['https://musl.libc.org/releases/musl-1.2.3.tar.gz', 'http://www.mirbsd.org/TaC-mksh.txt', 'https://example.org/a%20b.tar.gz'])
    assert.doesNotThrow(() => checkSourceUrl(ok));
  for (const bad of [
    'not a url',
    'musl-1.2.3.tar.gz',
    '/tmp/x.tar.gz',
    'file:///etc/passwd',
    'https://',
    'git://example.org/x.git',
    'ftp://ftp.example.org/x.tar.gz',
    'http://x/a b',
    'http://x/a\tb',
    'http://x/a\nb',
  ]) {
    assert.throws(
      () => checkSourceUrl(bad),
      (err: IgluError) => err.message.startsWith(`${JSON.stringify(bad)} is not a URL a recipe can fetch`) && /--url https:/.test(err.hint ?? ''),
    );
  }
});

// apt-cache showsrc's shape: a release in the main archive, its security update sharing the
// orig tarball, a mirror listing the release again, and a new upstream release
const ORIG = 'a'.repeat(64);
const SHOWSRC =
  [
    'Package: libfoo\nBinary: libfoo1, libfoo-dev\nVersion: 1.2+dfsg-3\nFiles:\n 0123456789abcdef0123456789abcdef 1000 libfoo_1.2+dfsg.orig.tar.xz\nChecksums-Sha256:\n ' +
      ORIG +
      ' 1000 libfoo_1.2+dfsg.orig.tar.xz\n ' +
      'b'.repeat(64) +
      ' 20 libfoo_1.2+dfsg-3.debian.tar.xz\nPackage-List: \n libfoo1 deb libs optional arch=any\nDirectory: pool/main/libf/libfoo',
    'Package: libfoo\nVersion: 1.2+dfsg-3+deb12u1\nChecksums-Sha256:\n ' +
      ORIG +
      ' 1000 libfoo_1.2+dfsg.orig.tar.xz\n ' +
      'c'.repeat(64) +
      ' 21 libfoo_1.2+dfsg-3+deb12u1.debian.tar.xz\nDirectory: pool/updates/main/libf/libfoo',
    'Package: libfoo\nVersion: 1.2+dfsg-3\nChecksums-Sha256:\n ' + ORIG + ' 1000 libfoo_1.2+dfsg.orig.tar.xz',
    'Package: libfoo\nVersion: 1.3-1\nChecksums-Sha256:\n ' + 'd'.repeat(64) + ' 1100 libfoo_1.3.orig.tar.xz',
    'Package: other\nVersion: 1.2+dfsg-3\nChecksums-Sha256:\n ' + ORIG + ' 1000 libfoo_1.2+dfsg.orig.tar.xz',
  ].join('\n\n') + '\n';

test("apt-cache showsrc: every version of a package whose source carries the orig tarball with its sha256, once each, in apt's order", () => {
  const index = parseShowsrc(SHOWSRC);
  assert.deepEqual(
    index.map((v) => `${v.package}=${v.version}`),
    ['libfoo=1.2+dfsg-3', 'libfoo=1.2+dfsg-3+deb12u1', 'libfoo=1.3-1', 'other=1.2+dfsg-3'],
  );
  assert.equal(index[0]!.files.get('libfoo_1.2+dfsg.orig.tar.xz'), ORIG, 'the sha256 from Checksums-Sha256, not the md5 from Files');
  assert.equal(index[0]!.files.size, 2, 'Package-List lines are not files');
  const orig = { file: 'libfoo_1.2+dfsg.orig.tar.xz', sha256: ORIG };
  assert.deepEqual(versionsCarrying(index, 'libfoo', [orig]), ['libfoo=1.2+dfsg-3', 'libfoo=1.2+dfsg-3+deb12u1']);
  assert.deepEqual(versionsCarrying(index, 'libfoo', [{ ...orig, sha256: 'e'.repeat(64) }]), [], 'another content under the same name is no match');
  assert.deepEqual(versionsCarrying(index, 'libbar', [orig]), []);
  assert.deepEqual(parseShowsrc(''), []);
});

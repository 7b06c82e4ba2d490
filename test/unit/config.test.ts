import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandWord } from '../../src/command-word.js';
import { parseConfig } from '../../src/config/load.js';
import { IgluError } from '../../src/errors.js';
import { configuredImageRef, debootstrapHash, imageConfigOf } from '../../src/image/inputs.js';
import { providedFrom, providedNames } from '../../src/phases/chroot.js';

function errorOf(text: string): IgluError {
  try {
    parseConfig(text, 'iglu.yaml');
  } catch (err) {
    assert.ok(err instanceof IgluError);
    return err;
  }
  assert.fail('expected an error');
}

test('an empty file gives the defaults', () => {
  const c = parseConfig('', 'iglu.yaml');
  assert.equal(c.farm.name, 'iglu');
  assert.equal(c.farm.global, true, 'one distccd task per node');
  assert.equal(c.farm.compression, 'auto');
  assert.equal(c.farm.network, 'iglu-farm');
  assert.deepEqual(c.farm.nodes, []);
  assert.equal(c.image.suite, 'bookworm');
});

test('values from the file override defaults', () => {
  const c = parseConfig('farm:\n  replicas: 5\n  nodes:\n    - endpoint: unix:///tmp/n2.sock\n      advertiseAddr: 10.0.0.2\n', 'iglu.yaml');
  assert.equal(c.farm.replicas, 5);
  assert.equal(c.farm.global, false, 'replicas given: replicated');
  assert.deepEqual(c.farm.nodes, [{ endpoint: 'unix:///tmp/n2.sock', advertiseAddr: '10.0.0.2' }]);
});

test('an unknown key names the file, its line and the key', () => {
  const e = errorOf('farm:\n  name: x\n  replcas: 3\n');
  assert.match(e.message, /^iglu\.yaml:3: unknown key "farm\.replcas"/);
  assert.ok(e.hint);
});

test('an unknown top-level key', () => {
  assert.match(errorOf('farm: {}\nfoo: 1\n').message, /iglu\.yaml:2: unknown key "foo"/);
});

test('a YAML alias bomb (nine levels of nine aliases: 387 million strings) is refused at once, naming the file', () => {
  let text = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
  for (const [prev, n] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh', 'hi']) text += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(', ')}]\n`;
  const e = errorOf(`${text}serve:\n  listen: 127.0.0.1:7373\n`);
  assert.match(e.message, /^iglu\.yaml: too many YAML aliases/);
  assert.ok(e.hint);
});

test('serve.connections: bounded by default (a connection cap, headers, request and idle times)', () => {
  assert.deepEqual(parseConfig('', 'iglu.yaml').serve.connections, {
    max: 512,
    headersSeconds: 20,
    requestSeconds: 900,
    idleSeconds: 120,
    keepAliveSeconds: 5,
  });
  assert.match(errorOf('serve:\n  connections:\n    max: 0\n').message, /"serve\.connections\.max"/);
});

test('a wrong type names the line and the key', () => {
  const e = errorOf('farm:\n  replicas: many\n');
  assert.match(e.message, /^iglu\.yaml:2: "farm\.replicas" /);
});

test('replicas below 1 are rejected', () => {
  assert.match(errorOf('farm:\n  replicas: 0\n').message, /"farm\.replicas" must be at least 1/);
});

test('an unknown node endpoint scheme is rejected with its line', () => {
  const e = errorOf('farm:\n  nodes:\n    - endpoint: http://x:2375\n');
  assert.match(e.message, /iglu\.yaml:3: "farm\.nodes\.0\.endpoint" must be a unix:\/\/, tcp:\/\/ or ssh:\/\//);
});

test('YAML syntax errors name line and column', () => {
  assert.match(errorOf('farm:\n  replicas: [1, 2\n').message, /^iglu\.yaml:\d+:\d+: /);
});

test('farm.replicas and farm.global: true together are refused, naming the field', () => {
  assert.throws(() => parseConfig('farm:\n  global: true\n  replicas: 3\n', 'iglu.yaml'), /farm\.replicas.*exclude each other/s);
});

test('the command word: global options and their values are skipped', () => {
  assert.equal(commandWord(['--config', 'farm', '--json', 'farm', 'up']), 'farm');
  assert.equal(commandWord(['--workdir=/w', '--docker-host', 'tcp://x', 'chroot', 'build']), 'chroot');
  assert.equal(commandWord(['--json', '--help']), undefined);
  assert.equal(commandWord([]), undefined);
});

test("chroot.buildEnv: names provided by the build environment, their Debian packages join the image's, and the plan says where each comes from", () => {
  const plain = parseConfig('', 'iglu.yaml');
  assert.deepEqual(plain.chroot.buildEnv, {});
  assert.equal(imageConfigOf(plain), plain.image, 'without buildEnv the image settings are untouched');
  assert.equal(debootstrapHash(imageConfigOf(plain)), debootstrapHash(plain.image), "and so is the image's tag");

  const c = parseConfig('chroot:\n  buildEnv:\n    bmake: bmake\n    python-mako: python3-mako\n    make: make\n', 'iglu.yaml');
  const image = imageConfigOf(c);
  assert.deepEqual(image.packages.slice(-2), ['bmake', 'python3-mako'], 'added after image.packages; make, already there, once');
  assert.equal(image.packages.filter((p) => p === 'make').length, 1);
  assert.notEqual(debootstrapHash(image), debootstrapHash(c.image), 'a new farm image');
  assert.ok(providedNames(c).includes('bmake') && providedNames(c).includes('python-mako'));
  assert.deepEqual(providedFrom(c, ['bmake', 'llvm']), { fromBuildEnv: [{ name: 'bmake', debian: 'bmake' }], fromBase: ['llvm'] });

  assert.match(errorOf('chroot:\n  buildEnv:\n    bmake: "Bmake Tools"\n').message, /iglu\.yaml:3: "chroot\.buildEnv\.bmake" not a Debian package name/);
});

test('configuredImageRef: the content-hash tag image build gives, so farm up and the build root take the image iglu.yaml describes', () => {
  const plain = parseConfig('{}', 'iglu.yaml');
  const withEnv = parseConfig('chroot:\n  buildEnv:\n    bmake: bmake\n', 'iglu.yaml');
  assert.equal(configuredImageRef(plain), `iglu/abyss:${debootstrapHash(plain.image)}`);
  assert.equal(configuredImageRef(withEnv), `iglu/abyss:${debootstrapHash(imageConfigOf(withEnv))}`);
  assert.notEqual(configuredImageRef(withEnv), configuredImageRef(plain), 'a buildEnv package is another image');
});

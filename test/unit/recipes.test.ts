import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { phaseFailed } from '../../src/packages/fetch.js';
import { readRecipe, readTree, type RecipeMeta } from '../../src/recipes/read.js';
import { iglu } from '../support/cli.js';

// fixtures live in the source tree; tests run from dist/test/unit
const fixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
const cats = new Set(['base', 'bad', 'extra']);

test('metadata is read by sourcing build.sh in mksh: variables, bad:, subpkgs, functions', async () => {
  const musl = await readRecipe(`${fixtures}tree/base/musl/build.sh`, cats);
  assert.equal(musl.name, 'musl');
  assert.equal(musl.pkgver, '1.2.3');
  assert.equal(musl.category, 'base');
  assert.deepEqual(musl.mkdeps, ['gmake']);
  assert.deepEqual(musl.functions, ['fetch', 'build', 'package', 'license']);
  const llvm = await readRecipe(`${fixtures}tree/extra/llvm/build.sh`, cats);
  assert.deepEqual(llvm.provides, ['clang', 'lld', 'libcxx', 'libunwind'], 'mksh-only function names (libunwind-dev) are fine');
  assert.deepEqual(llvm.deps, ['musl', 'libcxx']);
  // ext entries make subpackages only with their package_<e>() (the real mksh lists doc without one)
  const mksh = await readRecipe(`${fixtures}tree/base/mksh/build.sh`, cats);
  assert.deepEqual(mksh.provides, []);
  const split = await readRecipe(`${fixtures}chroot-tree/fix/split/build.sh`, new Set(['fix']));
  assert.deepEqual(split.provides, ['split-dev', 'libsplit', 'split-tools', 'split']);
  assert.ok(split.functions.includes('package_dev'));
});

test('a shell syntax error or a missing pkgver names the file', async () => {
  await assert.rejects(
    readRecipe(`${fixtures}bad-tree/extra/broken/build.sh`, cats),
    /broken\/build\.sh: the recipe does not source cleanly in mksh: .*syntax error/,
  );
  await assert.rejects(readRecipe(`${fixtures}bad-tree/extra/nover/build.sh`, cats), /nover\/build\.sh: no pkgver/);
});

test('a tree is read whole', async () => {
  const recipes = await readTree(`${fixtures}tree`);
  assert.deepEqual(recipes.map((r) => r.name).sort(), ['gmake', 'llvm', 'mksh', 'musl']);
});

test('iglu chroot plan: order with the base sysroot breaking the musl/gmake cycle', async () => {
  const { writeConfig } = await import('../support/cli.js');
  const r = await iglu([
    '--config',
    writeConfig('chroot:\n  base: []\ntoolchain:\n  packages: [unrelated]\n'),
    'chroot',
    'plan',
    '--tree',
    `${fixtures}tree`,
    '--json',
    'mksh',
  ]);
  assert.equal(r.code, 1, 'with musl from a recipe, musl → gmake → musl is a cycle');
  assert.match(r.stderr, /dependency cycle: (gmake → musl → gmake|musl → gmake → musl)/);
  const cfg = writeConfig('chroot:\n  base: [musl]\n');
  const ok = await iglu(['--config', cfg, 'chroot', 'plan', '--tree', `${fixtures}tree`, '--json', 'mksh']);
  assert.equal(ok.code, 0, ok.stderr);
  const plan = JSON.parse(ok.stdout) as { order: string[]; fromBase: string[] };
  assert.deepEqual(plan.order, ['mksh']);
  assert.deepEqual(plan.fromBase, ['musl']);
});

test('iglu chroot plan with the default base: an explicitly selected base package is still built', async () => {
  const r = await iglu(['chroot', 'plan', '--tree', `${fixtures}tree`, '--json', 'musl']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { order: string[] }).order, ['gmake', 'musl']);
  const unknown = await iglu(['chroot', 'plan', '--tree', `${fixtures}tree`, 'nosuchpkg']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no recipe provides "nosuchpkg"/);
});

test("phaseFailed: the log's tail and path; a bad: recipe's failure says how to take the tool from the build environment", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-phase-'));
  const log = path.join(dir, 'fetch.log');
  writeFileSync(log, 'curl: (22) 404 for make-4.4.tar.gz\n');
  const recipe = (category: string): RecipeMeta => ({
    name: 'gmake',
    file: `/t/${category}/gmake/build.sh`,
    category,
    pkgver: '4.4',
    pkgrel: '0',
    desc: '',
    deps: [],
    mkdeps: [],
    provides: [],
    bad: [],
    functions: ['fetch'],
    shlibs: [],
  });
  const bad = await phaseFailed(recipe('bad'), 'fetch', log);
  assert.match(bad.message, /^gmake 4\.4: fetch failed \(\/t\/bad\/gmake\/build\.sh\):\n.*404 for make-4\.4/);
  assert.match(bad.hint!, new RegExp(`the whole log is ${log}; gmake is a bad: tool.*add it to chroot\\.base in iglu\\.yaml`));
  const plain = await phaseFailed(recipe('base'), 'fetch', log);
  assert.equal(plain.hint, `the whole log is ${log}`);
  rmSync(dir, { recursive: true });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IgluError } from '../../src/errors.js';
import { planBuild, splitDeps, type RecipeDeps } from '../../src/recipes/plan.js';

const r = (name: string, deps: string[] = [], mkdeps: string[] = [], provides: string[] = []): RecipeDeps => ({ name, file: `base/${name}/build.sh`, deps, mkdeps, provides });
const cats = new Set(['base', 'bad', 'linux', 'extra']);

test('dependency lists: colon or space separated, categories dropped', () => {
  assert.deepEqual(splitDeps('musl:bad:gmake  zlib', cats), ['musl', 'gmake', 'zlib']);
  assert.deepEqual(splitDeps('', cats), []);
  assert.deepEqual(splitDeps('base', cats), ['base'], 'a lone category-like name is a package');
});

test('dependencies come first; ties are broken by name, so equal inputs give equal output', () => {
  const tree = [r('busybox', ['musl']), r('mksh', ['musl']), r('musl', [], ['gmake']), r('gmake')];
  const plan = planBuild(tree, ['mksh', 'busybox'], []);
  assert.deepEqual(plan.order, ['gmake', 'musl', 'busybox', 'mksh']);
  assert.deepEqual(plan.pulledIn, ['gmake', 'musl']);
  assert.deepEqual(planBuild([...tree].reverse(), ['busybox', 'mksh'], []).order, plan.order);
});

test('the base sysroot satisfies dependencies and breaks cycles', () => {
  const tree = [r('musl', [], ['gmake']), r('gmake', ['musl']), r('zlib', ['musl'])];
  assert.throws(() => planBuild(tree, ['zlib'], []), (e: unknown) => e instanceof IgluError && /dependency cycle: (gmake → musl → gmake|musl → gmake → musl)/.test(e.message));
  const plan = planBuild(tree, ['zlib'], ['musl']);
  assert.deepEqual(plan.order, ['zlib']);
  assert.deepEqual(plan.fromBase, ['musl']);
});

test('subpackage names count as provided by their recipe', () => {
  const plan = planBuild([r('llvm', [], [], ['clang', 'libcxx']), r('cmake', ['libcxx'])], ['cmake'], []);
  assert.deepEqual(plan.order, ['llvm', 'cmake']);
});

test('an unknown dependency names the recipe that asks for it; an unknown package is refused', () => {
  assert.throws(() => planBuild([r('a', ['ghost'])], ['a'], []), /base\/a\/build.sh: depends on "ghost", which no recipe provides/);
  assert.throws(() => planBuild([r('a')], ['nope'], []), /no recipe provides "nope"/);
});

test('no selection plans every recipe', () => {
  assert.deepEqual(planBuild([r('b', ['a']), r('a')], [], []).order, ['a', 'b']);
});

test('a bad GNU tool no recipe provides comes from the build environment', () => {
  const musl: RecipeDeps = { ...r('musl', [], ['gmake']), bad: ['gmake'] };
  const plan = planBuild([musl], ['musl'], []);
  assert.deepEqual(plan.order, ['musl']);
  assert.deepEqual(plan.gnuFromBuildEnv, ['gmake']);
  assert.throws(() => planBuild([r('musl', [], ['gmake'])], ['musl'], []), /depends on "gmake", which no recipe provides/);
});

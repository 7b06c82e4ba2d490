import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IgluError } from '../../src/errors.js';
import { afterEarlier, dependedOnFirst, withMkdeps } from '../../src/recipes/implicit-deps.js';
import { withOwnRecipes } from '../../src/recipes/own-recipes.js';
import { analysePlan, badCategoryNames, cycles, planBuild, splitDeps, type RecipeDeps } from '../../src/recipes/plan.js';

const r = (name: string, deps: string[] = [], mkdeps: string[] = [], provides: string[] = []): RecipeDeps => ({
  name,
  file: `base/${name}/build.sh`,
  deps,
  mkdeps,
  provides,
});
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
  assert.throws(
    () => planBuild(tree, ['zlib'], []),
    (e: unknown) => e instanceof IgluError && /dependency cycle: (gmake → musl → gmake|musl → gmake → musl)/.test(e.message),
  );
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

test('a base package provides its subpackages too (llvm in the base gives libcxx)', () => {
  const tree = [r('llvm', [], ['cmake'], ['libcxx', 'clang']), r('cmake', ['libcxx'])];
  assert.throws(() => planBuild(tree, ['cmake'], []), /dependency cycle: cmake → llvm → cmake/);
  const plan = planBuild(tree, ['cmake'], ['llvm']);
  assert.deepEqual(plan.order, ['cmake']);
  assert.deepEqual(plan.fromBase, ['libcxx']);
});

test('every problem is reported at once: unknown packages, each missing name with all who ask, each cycle', () => {
  const tree = [r('a', ['ghost']), r('b', ['ghost', 'spook']), r('c', ['d']), r('d', ['c']), r('e', ['f']), r('f', ['g']), r('g', ['e']), r('ok')];
  const { problems, order } = analysePlan(tree, ['a', 'b', 'c', 'e', 'ok', 'nope'], []);
  assert.deepEqual(order, [], 'no order while there are problems');
  assert.deepEqual(
    problems.map((p) => p.message),
    [
      'no recipe provides "nope"',
      'base/a/build.sh, base/b/build.sh: depend on "ghost", which no recipe provides',
      'base/b/build.sh: depends on "spook", which no recipe provides',
      'dependency cycle: c → d → c',
      'dependency cycle: e → f → g → e',
    ],
  );
  const err = (() => {
    try {
      planBuild(tree, ['a', 'c'], []);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof IgluError);
  assert.match(err.message, /^2 problems in the plan:\n- base\/a\/build.sh: depends on "ghost".*\n- dependency cycle: c → d → c$/);
  assert.match(err.hint ?? '', /chroot\.base/);
});

test('cycles: one per strongly connected component, the shortest way round from its first name', () => {
  const edges = new Map([
    ['a', ['b']],
    ['b', ['c', 'a']],
    ['c', ['a']],
    ['x', ['y']],
    ['y', []],
  ]);
  assert.deepEqual(cycles(edges), [['a', 'b', 'a']]);
  assert.deepEqual(
    cycles(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    [],
  );
});

test('the toolchain phase takes every bad GNU tool from the build environment, even with a gmake recipe in the tree', () => {
  const musl: RecipeDeps = { ...r('musl', [], ['gmake']), bad: ['gmake'] };
  const tree = [musl, r('gmake', ['musl'])];
  assert.throws(() => planBuild(tree, ['musl'], []), /dependency cycle: gmake → musl → gmake/);
  const plan = planBuild(tree, ['musl'], [], { badFromBuildEnv: true });
  assert.deepEqual(plan.order, ['musl']);
  assert.deepEqual(plan.gnuFromBuildEnv, ['gmake']);
});

test('names given with the category bad are GNU tools', () => {
  assert.deepEqual(badCategoryNames('bad:gmake musl', cats), ['gmake']);
  assert.deepEqual(badCategoryNames('gmake', cats), []);
  assert.deepEqual(badCategoryNames('bad:gmake', new Set(['base'])), [], 'only when the tree has a bad category');
});

test("iglu's own recipes fill in the toolchain packages a tree lacks, with what they need; the tree's own always win", () => {
  const user = [r('musl', [], ['gmake']), r('cmake', ['libcxx'])];
  const own = [
    r('musl-headers'),
    r('compiler-rt', [], ['musl-headers'], ['libclang-rt-dev']),
    r('musl', [], ['compiler-rt']),
    r('libcxx', ['musl'], ['compiler-rt'], ['libunwind']),
    r('zlib'),
  ];
  const merged = withOwnRecipes(user, own, ['compiler-rt', 'musl', 'libcxx']);
  assert.deepEqual(
    merged.map((x) => x.name),
    ['musl', 'cmake', 'compiler-rt', 'libcxx', 'musl-headers'],
    "the tree's musl stays; musl-headers comes in as compiler-rt's mkdep; zlib is not wanted",
  );
  assert.equal(merged[0], user[0]);
  assert.deepEqual(
    withOwnRecipes([r('llvm', [], [], ['libcxx', 'compiler-rt'])], own, ['compiler-rt', 'libcxx']).map((x) => x.name),
    ['llvm'],
    'a subpackage of the tree counts as having it',
  );
});

test('each toolchain package is built after the toolchain packages before it, declared or not', () => {
  const tree = [r('musl', [], ['zlib']), r('compiler-rt', [], ['musl-headers']), r('musl-headers'), r('zlib')];
  const ordered = afterEarlier(tree, ['musl-headers', 'compiler-rt', 'musl']);
  assert.deepEqual(ordered[0]!.mkdeps, ['zlib', 'musl-headers', 'compiler-rt']);
  assert.equal(ordered[1], tree[1], 'nothing to add: the same recipe');
  assert.equal(ordered[3], tree[3], 'not a toolchain package');
  assert.deepEqual(planBuild(ordered, ['musl'], []).order, ['musl-headers', 'compiler-rt', 'zlib', 'musl']);
});

test('planned sysroots: declared dependencies first, then what the most packages need, then by name', () => {
  const tree = [r('mandoc'), r('zlib'), r('curl', ['zlib', 'openssl']), r('git', ['curl', 'zlib']), r('openssl'), r('abc')];
  const order = planBuild(tree, ['mandoc', 'git', 'abc'], []).order;
  assert.deepEqual(order, ['abc', 'openssl', 'zlib', 'curl', 'git', 'mandoc']);
  // zlib and openssl are needed by two packages each, curl by one: mandoc, which includes zlib.h undeclared, comes after zlib
  assert.deepEqual(dependedOnFirst(tree, order), ['openssl', 'zlib', 'curl', 'abc', 'git', 'mandoc']);
  const planned = afterEarlier(tree, dependedOnFirst(tree, order));
  assert.deepEqual(planned.find((x) => x.name === 'mandoc')!.mkdeps, ['openssl', 'zlib', 'curl', 'abc', 'git']);
  assert.deepEqual(planBuild(planned, ['mandoc', 'git', 'abc'], []).order, dependedOnFirst(tree, order), 'the plan follows the planned order');
});

test('chroot.mkdeps adds build dependencies to the recipes it names, which then plan after them; an unknown pkgname is refused', () => {
  const tree = [r('zlib-ng'), r('netbsd-curses'), r('mandoc'), r('libedit', [], ['netbsd-curses'])];
  const amended = withMkdeps(tree, { mandoc: ['zlib-ng'], libedit: ['netbsd-curses'] });
  assert.deepEqual(
    amended.map((x) => [x.name, x.mkdeps]),
    [
      ['zlib-ng', []],
      ['netbsd-curses', []],
      ['mandoc', ['zlib-ng']],
      ['libedit', ['netbsd-curses']],
    ],
    'a name the recipe already declares is not added twice',
  );
  assert.equal(amended[0], tree[0], 'recipes without extra names are returned as they are');
  assert.deepEqual(planBuild(amended, ['mandoc'], []).order, ['zlib-ng', 'mandoc']);
  assert.throws(
    () => withMkdeps(tree, { mandocc: ['zlib-ng'] }),
    (e: unknown) => e instanceof IgluError && /chroot\.mkdeps\.mandocc: no recipe of the tree has pkgname "mandocc"/.test(e.message),
  );
});

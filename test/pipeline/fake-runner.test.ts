// The package pipeline driven end to end by a fake runner: no Docker, no build root. The
// recipes are real (read and fetched in the sandbox as every phase does); only "where the
// recipe code runs" is a fake that writes each package's directory itself.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PackagePaths } from '../../src/layout/package-paths.js';
import { Workdir } from '../../src/layout/workdir.js';
import type { PackageManifest } from '../../src/packages/manifest.js';
import { Identities } from '../../src/pipeline/identities.js';
import type { BuildPhase } from '../../src/pipeline/package-build.js';
import { phaseSteps, type PhaseState } from '../../src/pipeline/phase-steps.js';
import type { PackageRunner, RunnerJob, RunnerResult } from '../../src/pipeline/runner.js';
import type { SharedBuilds } from '../../src/pipeline/shared-builds.js';
import { planBuild } from '../../src/recipes/plan.js';
import { readTree } from '../../src/recipes/read.js';
import { SourceCache } from '../../src/sources/cache.js';

const RECIPES: Record<string, string> = {
  a: 'pkgname=a\npkgver=1\nfetch() { :; }\nbuild() { :; }\npackage() { :; }\n',
  b: 'pkgname=b\npkgver=2\ndeps="a"\nfetch() { :; }\nbuild() { :; }\npackage() { :; }\n',
  c: 'pkgname=c\npkgver=3\nfetch() { :; }\nbuild() { :; }\npackage() { :; }\n',
};

/** A runner that writes `<outRoot>/<name>.<pkgver>/usr/share/<name>` itself, recording every job; `claimed` names packages whose first run finds the claim held. */
class FakeRunner implements PackageRunner {
  readonly where = 'chroot';
  readonly jobs = 1;
  readonly seen: RunnerJob[] = [];
  released = 0;
  constructor(
    private readonly fail = new Set<string>(),
    private readonly claimed = new Set<string>(),
  ) {}
  async run(job: RunnerJob): Promise<RunnerResult | undefined> {
    this.seen.push(job);
    if (this.claimed.delete(job.recipe.name)) return undefined;
    if (this.fail.has(job.recipe.name)) throw new Error(`${job.recipe.name}: the fake build failed`);
    const outRoot = path.join(job.ws.recipeDir, 'out');
    const pkgdir = path.join(outRoot, `${job.recipe.name}.${job.recipe.pkgver}`);
    await mkdir(path.join(pkgdir, 'usr/share'), { recursive: true });
    await writeFile(path.join(pkgdir, 'usr/share', job.recipe.name), `${job.recipe.name} built from ${job.inputs}\n`);
    return { outRoot, compiles: null, release: async () => void this.released++ };
  }
  built(): string[] {
    return this.seen.map((j) => j.recipe.name);
  }
}

async function setup(): Promise<{ dir: string; tree: string; workdir: Workdir }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'iglu-pipeline-'));
  const tree = path.join(dir, 'tree');
  for (const [name, text] of Object.entries(RECIPES)) {
    await mkdir(path.join(tree, 'test', name), { recursive: true });
    await writeFile(path.join(tree, 'test', name, 'build.sh'), text);
  }
  return { dir, tree, workdir: new Workdir(path.join(dir, 'work')) };
}

/** Runs every step of a phase in order, as runSteps would (a skipped step is skipped, a failure kept when it keeps going). */
async function build(
  t: { tree: string; workdir: Workdir },
  runner: PackageRunner,
  o: { rebuild?: boolean; keepGoing?: boolean; shared?: SharedBuilds; base?: string } = {},
) {
  const recipes = await readTree(t.tree);
  const paths = new PackagePaths(t.workdir);
  const state: PhaseState = { packages: [] };
  const sysroots = new Map<string, string[]>();
  const phase: BuildPhase = {
    base: async () => o.base ?? 'fake-base',
    checkElf: false,
    async sysroot(recipe) {
      const tarballs = state.packages.filter((p) => recipe.deps.includes(p.name)).map((p) => p.tarball);
      sysroots.set(recipe.name, tarballs);
      return { tarballs };
    },
  };
  const identities = new Identities(recipes, []);
  const pipeline = {
    paths,
    cache: SourceCache.of(t.workdir),
    offline: true,
    rebuild: () => Boolean(o.rebuild),
    runner: () => runner,
    ...(o.shared ? { shared: () => o.shared! } : {}),
    phase,
    identities,
    limits: () => ({ wallSeconds: 60, memoryMiB: 1024, processes: 64, tmpMiB: 16, logMiB: 64 }),
  };
  const plan = planBuild(recipes, [], []);
  const steps = await phaseSteps({ plan, recipes, pipeline, keepGoing: Boolean(o.keepGoing), concurrent: false, phase: 'chroot' }, state);
  const lines: string[] = [];
  for (const step of steps) {
    const skipped = step.skip?.(state);
    if (skipped) continue;
    try {
      lines.push(`${step.title}: ${(await step.run(state, () => undefined)) ?? ''}`);
    } catch (err) {
      if (!step.keepGoing) throw err;
    }
  }
  return { state, lines, sysroots, paths };
}

test('the pipeline with a fake runner: built in order with its deps in the sysroot, then up to date without the runner, and a recipe change rebuilds its dependents', async () => {
  const t = await setup();
  try {
    const runner = new FakeRunner();
    const first = await build(t, runner);
    assert.deepEqual(runner.built(), ['a', 'b', 'c']);
    assert.deepEqual(
      first.state.packages.map((p) => [p.name, p.action]),
      [
        ['a', 'built'],
        ['b', 'built'],
        ['c', 'built'],
      ],
    );
    assert.deepEqual(first.sysroots.get('b'), [first.paths.tarball('a', '1')], "b's sysroot holds a, which it declares");
    const manifestA = JSON.parse(await readFile(first.paths.manifest('a', '1'), 'utf8')) as PackageManifest;
    assert.match(manifestA.inputs ?? '', /^[0-9a-f]{64}$/, 'the manifest records the inputs hash');
    assert.equal(manifestA.build.where, 'chroot', "the runner's place");
    assert.equal(runner.released, 3, 'every build released once packed');

    const again = new FakeRunner();
    const second = await build(t, again);
    assert.deepEqual(again.built(), [], 'nothing ran');
    assert.ok(second.state.packages.every((p) => p.action === 'up to date'));

    await writeFile(path.join(t.tree, 'test/a/build.sh'), RECIPES.a!.replace('build() { :; }', 'build() { true; }'));
    const third = new FakeRunner();
    await build(t, third);
    assert.deepEqual(third.built(), ['a', 'b'], 'a changed, and b depends on it; c stays');

    const forced = new FakeRunner();
    await build(t, forced, { rebuild: true });
    assert.deepEqual(forced.built(), ['a', 'b', 'c'], '--rebuild builds every package');

    const newBase = new FakeRunner();
    await build(t, newBase, { base: 'another-base' });
    assert.deepEqual(newBase.built(), ['a', 'b', 'c'], 'a new base (build root, farm image, runner scripts) rebuilds every package');
  } finally {
    await rm(t.dir, { recursive: true, force: true });
  }
});

test('the pipeline keeps going past a failed package: its dependents are blocked, the others built', async () => {
  const t = await setup();
  try {
    const runner = new FakeRunner(new Set(['a']));
    const r = await build(t, runner, { keepGoing: true });
    const actions = Object.fromEntries(r.state.packages.map((p) => [p.name, p.action]));
    assert.deepEqual(actions, { a: 'failed', b: 'blocked', c: 'built' });
    assert.deepEqual(r.state.packages.find((p) => p.name === 'b')?.blockedBy, ['a']);
    assert.deepEqual(runner.built(), ['a', 'c'], 'b never reached the runner');
  } finally {
    await rm(t.dir, { recursive: true, force: true });
  }
});

test("the pipeline attaches when another run holds the claim on the same inputs, and takes that run's packages", async () => {
  const t = await setup();
  try {
    // a first run builds everything; its packages stand for what another run stored
    const other = await build(t, new FakeRunner());
    const stored = new Map<string, PackageManifest[]>();
    for (const p of other.state.packages) {
      const m = JSON.parse(await readFile(other.paths.manifest(p.name, p.tarball.split('.').at(-3)!), 'utf8')) as PackageManifest;
      stored.set(m.inputs!, [m]);
    }
    const attachedTo: string[] = [];
    const shared: SharedBuilds = {
      resolved: async () => undefined,
      restore: async () => undefined,
      async attach(recipe, inputs, _log, onNode, _restore) {
        attachedTo.push(recipe.name);
        onNode('node-2');
        const manifests = stored.get(inputs);
        return manifests ? { node: 'node-2', manifests } : undefined;
      },
      publish: async () => undefined,
      mirror: { name: 'a fake store', copy: async () => false },
      publishSources: async () => undefined,
    };
    // the same inputs again (--rebuild skips the store): c's claim is held by "another run"
    const runner = new FakeRunner(new Set(), new Set(['c']));
    const r = await build(t, runner, { rebuild: true, shared });
    assert.deepEqual(attachedTo, ['c'], 'only the held claim is followed');
    const c = r.state.packages.find((p) => p.name === 'c');
    assert.equal(c?.action, 'attached');
    assert.equal(c?.node, 'node-2');
    assert.ok(
      r.lines.some((l) => /^c 3: built by another run on node-2/.test(l)),
      r.lines.join('\n'),
    );
  } finally {
    await rm(t.dir, { recursive: true, force: true });
  }
});

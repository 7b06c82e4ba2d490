import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildJobs, DEFAULT_BUILD_SECONDS, remainingChain, simulateSchedule, type BuildJob } from '../../src/schedule/critical-path.js';

const job = (name: string, seconds: number, ...deps: string[]): BuildJob => ({ name, seconds, deps });

test("remaining chain: a job's own time plus the longest chain waiting for it; unknown deps ignored", () => {
  // musl <- zlib <- zstd, musl <- mksh
  const chain = remainingChain([job('musl', 60), job('zlib', 10, 'musl', 'not-a-recipe'), job('zstd', 20, 'zlib'), job('mksh', 15, 'musl')]);
  assert.deepEqual(Object.fromEntries(chain), { musl: 90, zlib: 30, zstd: 20, mksh: 15 });
});

test('a dependency cycle is refused with its path', () => {
  assert.throws(() => remainingChain([job('a', 1, 'c'), job('b', 1, 'a'), job('c', 1, 'b')]), /dependency cycle: a -> b -> c -> a/);
});

test('one slot: the makespan is the total work, dependencies first', () => {
  const s = simulateSchedule([job('a', 5), job('b', 7, 'a'), job('c', 3)], 1, 1);
  assert.equal(s.makespan, 15);
  assert.equal(s.ratio, 1);
  const at = Object.fromEntries(s.jobs.map((j) => [j.name, j]));
  assert.ok(at.b!.start >= at.a!.end, 'b after a');
});

test('critical path first: the long chain starts at once, the short jobs fill the other slot', () => {
  // the chain x-y-z is 30 long; taken by name, the short jobs a, b, c would go first
  const jobs = [job('a', 5), job('b', 5), job('c', 5), job('x', 10), job('y', 10, 'x'), job('z', 10, 'y')];
  const s = simulateSchedule(jobs, 2, 1);
  assert.equal(s.criticalPath, 30);
  assert.equal(s.makespan, 30);
  assert.deepEqual(
    s.jobs
      .filter((j) => j.start === 0)
      .map((j) => j.name)
      .sort(),
    ['a', 'x'],
  );
  assert.equal(new Set(s.jobs.filter((j) => j.start === 0).map((j) => j.node)).size, 2, 'on different nodes: the one with the most free slots');
  // the baseline by name starts a and b, then c and x: the chain ends 5 s later
  const byName = simulateSchedule(jobs, 2, 1, { priority: 'name' });
  assert.equal(byName.makespan, 35);
  assert.equal(byName.ratio, 35 / 30);
});

test('the lower bound is the larger of the critical path and the work per slot', () => {
  const many = Array.from({ length: 12 }, (_, i) => job(`p${i}`, 10));
  const s = simulateSchedule(many, 2, 2);
  assert.equal(s.lowerBound, 30);
  assert.equal(s.makespan, 30);
  assert.throws(() => simulateSchedule(many, 0, 2), /at least one node and one slot/);
});

test('jobs from recipes: a subpackage stands for its recipe, unknown names are left out, unrecorded times default', () => {
  const jobs = buildJobs(
    [
      { name: 'musl', deps: [], mkdeps: ['compiler-rt'], provides: [] },
      { name: 'mksh', deps: ['musl'], mkdeps: ['musl-doc', 'mksh'], provides: ['mksh-doc'] },
      { name: 'doc', deps: ['mksh-doc'], mkdeps: [], provides: ['musl-doc'] },
    ],
    new Map([['musl', 53.7]]),
  );
  assert.deepEqual(jobs, [
    { name: 'musl', deps: [], seconds: 53.7 },
    { name: 'mksh', deps: ['musl', 'doc'], seconds: DEFAULT_BUILD_SECONDS },
    { name: 'doc', deps: ['mksh'], seconds: DEFAULT_BUILD_SECONDS },
  ]);
});

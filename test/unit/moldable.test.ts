import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulateSchedule } from '../../src/schedule/critical-path.js';
import { fastest, simulateFarm, type FarmJob } from '../../src/schedule/moldable.js';

const job = (name: string, serial: number, parallel: number, maxSlots: number, deps: string[] = []): FarmJob => ({ name, deps, serial, parallel, maxSlots });

test('simulateFarm: one package shrinks with the slots its -j reaches, down to its serial part', () => {
  const llvm = job('llvm', 10, 100, 50);
  assert.equal(simulateFarm([llvm], 1, 2).makespan, 60);
  assert.equal(simulateFarm([llvm], 10, 2).makespan, 15);
  assert.equal(simulateFarm([llvm], 30, 2).makespan, 12, 'capped at -j50');
  assert.equal(fastest(llvm, 60), 12);
  const one = simulateFarm([llvm], 10, 2);
  assert.equal(one.lowerBound, 15);
  assert.equal(one.ratio, 1);
});

test('simulateFarm: a dependency waits; slots go to the longer remaining chain first; every package once', () => {
  const jobs = [job('a', 2, 20, 4), job('b', 1, 40, 4, ['a']), job('c', 1, 4, 4)];
  const s = simulateFarm(jobs, 1, 4);
  const at = Object.fromEntries(s.jobs.map((j) => [j.name, j]));
  assert.deepEqual(s.jobs.map((j) => j.name).sort(), ['a', 'b', 'c']);
  assert.ok(at.b!.start >= at.a!.end, 'b starts after a');
  assert.ok(s.makespan >= s.lowerBound && s.ratio >= 1);
  // a (chain 2+5 + 1+10) gets its compiles' slots before c (1+1)
  assert.ok(at.a!.end <= 2 + 20 / 3 + 1e-9, `a ended at ${at.a!.end}`);
});

test('simulateFarm with no compiles to spread is the fixed-time schedule on a pool of nodes × slots', () => {
  const fixed = [
    { name: 'x', deps: [], seconds: 30 },
    { name: 'y', deps: ['x'], seconds: 10 },
    { name: 'z', deps: [], seconds: 25 },
    { name: 'w', deps: ['z'], seconds: 5 },
  ];
  const farm = simulateFarm(
    fixed.map((f) => job(f.name, f.seconds, 0, 1, f.deps)),
    1,
    2,
  );
  assert.equal(farm.makespan, simulateSchedule(fixed, 1, 2).makespan);
  assert.throws(() => simulateFarm([job('p', 1, 1, 1, ['q']), job('q', 1, 1, 1, ['p'])], 1, 1), /dependency cycle/);
  assert.throws(() => simulateFarm([], 0, 2), /at least one node/);
});

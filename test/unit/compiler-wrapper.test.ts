import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { execa } from 'execa';
import { CHROOT_SCRIPTS } from '../../src/layout/in-root.js';

// The target compiler wrapper (chroot/target-bin/cc) run with `echo` as its launcher: what
// it passes on and what it counts, without a compiler. Plain sh, no Docker.
const dir = mkdtempSync(path.join(tmpdir(), 'iglu-wrapper-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const countLog = path.join(dir, 'compiles.log');

async function cc(name: string, args: string[], launcher: string): Promise<string> {
  const r = await execa(path.join(CHROOT_SCRIPTS, 'target-bin', name), args, {
    reject: launcher !== '',
    env: { IGLU_COMPILER_LAUNCHER: launcher, IGLU_COMPILE_LOG: countLog, TRIPLE: 'x86_64-unknown-linux-musl' },
  });
  return r.stdout;
}

test('the wrapper counts each -c and -S command once, with its launcher, and passes a compile on with only the target flags', async () => {
  const compile = await cc('cc', ['-O2', '-c', 'a.c', '-o', 'a.o'], 'echo');
  assert.match(compile, /clang --target=x86_64-unknown-linux-musl --sysroot=\/sysroot --gcc-toolchain=\/sysroot -O2 -c a\.c -o a\.o$/);
  assert.doesNotMatch(compile, /-fuse-ld|-rtlib|-static/, 'no link flags on a compile distcc sends');
  await cc('c++', ['-S', 'b.cc'], 'echo');
  await cc('clang', ['-E', 'c.c'], 'echo');
  await cc('cc', ['a.o', '-o', 'a'], 'echo');
  await cc('clang++', ['-c', 'd.cc'], ''); // runs clang itself (absent here): counted first
  assert.equal(readFileSync(countLog, 'utf8'), 'compile echo\ncompile echo\ncompile -\n', '-E and links are not compiles; no launcher is "-"');
});

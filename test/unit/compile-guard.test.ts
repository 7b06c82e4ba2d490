import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { CONFINE_FILE } from '../../src/farm/compile-confine.js';
import { compileGuardScript } from '../../src/farm/compile-guard.js';

// The compile guard as distccd runs it: a copy named after the compiler, here `true`, so an
// allowed compile execs /usr/bin/true (exit 0) and a refused one exits 111. The task's
// confinement (compile-confine.ts, Landlock: tested on the farm) is stood in for by a perl
// script that writes down the files it was given and execs the rest.
const dir = mkdtempSync(path.join(tmpdir(), 'iglu-guard-'));
const guard = path.join(dir, 'true');
const confine = path.join(dir, 'confine');
const given = path.join(dir, 'given');
writeFileSync(
  confine,
  `my @f; push @f, shift @ARGV while @ARGV && $ARGV[0] ne '--'; shift @ARGV; open my $o, '>', '${given}'; print $o "@f"; close $o; exec { $ARGV[0] } @ARGV;\n`,
);
writeFileSync(guard, compileGuardScript().replace(CONFINE_FILE, confine));
chmodSync(guard, 0o755);
const TMP = '/tmp';
const IN = `${TMP}/distccd_abc123.i`;
const OUT = `${TMP}/distccd_def456.o`;

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const r = await execa('sh', [guard, ...args], { reject: false, env: { TMPDIR: TMP }, argv0: 'true' });
  return { code: r.exitCode ?? -1, stderr: r.stderr };
}

/** The guard is invoked by its path, so $0 ends in "true". */
const compile = (...flags: string[]) => [...flags, '-c', IN, '-o', OUT];

test('compiles real recipes send are served: musl, busybox, zlib, the kernel', async () => {
  const served = [
    compile(
      '-x',
      'cpp-output',
      '-std=c99',
      '-nostdinc',
      '-ffreestanding',
      '-fexcess-precision=standard',
      '-frounding-math',
      '-Wa,--noexecstack',
      '-D_XOPEN_SOURCE=700',
      '-Os',
      '-pipe',
      '-fomit-frame-pointer',
      '-fno-unwind-tables',
      '-fno-asynchronous-unwind-tables',
      '-ffunction-sections',
      '-fdata-sections',
      '-Werror=implicit-function-declaration',
      '-Wno-pointer-sign',
      '-fPIC',
      '-target',
      'x86_64-linux-musl',
    ),
    compile(
      '--target=x86_64-linux-musl',
      '-O2',
      '-g',
      '-gdwarf-4',
      '-Wall',
      '-Wframe-larger-than=2048',
      '-fmacro-prefix-map=./=',
      '-fno-PIE',
      '-mcmodel=kernel',
      '-mno-red-zone',
      '-mno-sse',
      '-mstack-protector-guard=tls',
      '-mstack-alignment=8',
      '-fcf-protection=none',
      '-ftrivial-auto-var-init=zero',
      '-fpatchable-function-entry=16,14',
      '-mllvm',
      '-x86-asm-syntax=att',
      '-Xclang',
      '-fno-spell-checking',
      '-Wa,-mrelax-relocations=no',
    ),
    ['-S', IN, '-o', `${TMP}/distccd_zz.s`],
    // cmake's checks: link options a compile ignores
    compile(
      '--target=x86_64-unknown-linux-musl',
      '--sysroot=/sysroot',
      '--gcc-toolchain=/sysroot',
      '-O3',
      '-nodefaultlibs',
      '-nostdlib',
      '-static',
      '-Wl,--gc-sections',
      '-fuse-ld=lld',
      '-rtlib=compiler-rt',
      '-unwindlib=none',
      '-L/usr/lib',
      '-lc',
      '-Xlinker',
      '-z',
    ),
  ];
  for (const args of served) assert.deepEqual(await run(args), { code: 0, stderr: '' }, args.join(' '));
});

test('every output-writing option clang documents is refused, and plugins, prefixes and response files with them', async () => {
  const refused: string[][] = [
    // the hostile run's three (issue 21)
    compile('--serialize-diagnostics', '/tmp/p1'),
    compile('-Xclang', '-stats-file=/tmp/p2'),
    compile('-ftime-report', '-mllvm', '-info-output-file=/tmp/p3'),
    // clang's other documented writers
    compile('-serialize-diagnostics', '/tmp/p'),
    compile('-MJ', '/tmp/p'),
    compile('-MJ/tmp/p'),
    compile('-save-temps'),
    compile('-save-temps=obj'),
    compile('--save-temps'),
    compile('-save-stats'),
    compile('-save-stats=obj'),
    compile('-ftime-trace'),
    compile('-ftime-trace=/tmp/p'),
    compile('-fsave-optimization-record'),
    compile('-foptimization-record-file=/tmp/p'),
    compile('-fcrash-diagnostics-dir=/tmp/p'),
    compile('-fcrash-diagnostics=all'),
    compile('-fproc-stat-report=/tmp/p'),
    compile('-fproc-stat-report'),
    compile('-gsplit-dwarf'),
    compile('-gsplit-dwarf=single'),
    compile('-fmodules'),
    compile('-fmodules-cache-path=/tmp/p'),
    compile('-fmodule-file=/tmp/p'),
    compile('-fprofile-generate=/tmp/p'),
    compile('-fprofile-instr-generate=/tmp/p'),
    compile('-fcs-profile-generate=/tmp/p'),
    compile('-ftest-coverage'),
    compile('--coverage'),
    compile('-fdump-record-layouts'),
    compile('-fdebug-dump-parse-tree'),
    compile('-Xclang', '-dependency-file', '-Xclang', '/tmp/p'),
    compile('-Xclang', '-header-include-file', '-Xclang', '/tmp/p'),
    compile('-mllvm', '-stats-file=p'),
    compile('-mllvm', '-o'),
    compile('-Wp,-MD,/tmp/p'),
    compile('-Wa,-o,/tmp/p'),
    compile('-Wa,--MD,/tmp/p'),
    compile('--output=/tmp/p'),
    compile('--output', '/tmp/p'),
    compile('-Xclang', '-o', '-Xclang', '/tmp/p'),
    // code and tools from elsewhere
    compile('-Xclang', '-load', '-Xclang', '/tmp/p.so'),
    compile('-fplugin=/tmp/p.so'),
    compile('-fpass-plugin=/tmp/p.so'),
    compile('-Xclang', '-add-plugin', '-Xclang', 'x'),
    compile('-B/tmp'),
    compile('-B', '/tmp'),
    compile('-specs=/tmp/s'),
    compile('@/tmp/args'),
    compile('-ccc-install-dir', '/tmp'),
    // outputs and inputs elsewhere, however spelled
    [IN, '-c', '-o', '/tmp/p.o'],
    [IN, '-c', `-o${OUT}`],
    [IN, '-c', '-o', `${TMP}/distccd_x/../../etc/p`],
    [IN, '-c', '-o', `${TMP}/distccd_x/p`],
    ['/etc/passwd', '-c', '-o', OUT],
    [IN, '-c', '-o'],
    // a link (no -c, -S): its linker options could write anywhere (-Wl,-Map=)
    [IN, '-o', OUT],
    [IN, '-Wl,-Map=/tmp/p', '-o', OUT],
  ];
  for (const args of refused) {
    const r = await run(args);
    assert.equal(r.code, 111, args.join(' '));
    assert.match(r.stderr, /^iglu compile guard: refused /, args.join(' '));
  }
});

test('an accepted compile runs confined to its one input and its outputs; two inputs, or a temporary name that is not plain, are refused', async () => {
  assert.deepEqual(await run(compile('-O2')), { code: 0, stderr: '' });
  assert.equal(readFileSync(given, 'utf8'), `r:${IN} w:${OUT}`);
  assert.deepEqual(await run([...compile(), '-MF', `${TMP}/distccd_d1.d`]), { code: 0, stderr: '' });
  assert.equal(readFileSync(given, 'utf8'), `r:${IN} w:${OUT} w:${TMP}/distccd_d1.d`);
  for (const args of [[...compile(), `${TMP}/distccd_other.i`], ['-c', `${TMP}/distccd_a b.i`, '-o', OUT], compile().slice(0, -3).concat(['-o', OUT])]) {
    const r = await run(args);
    assert.equal(r.code, 111, args.join(' '));
    assert.match(r.stderr, /^iglu compile guard: refused /, args.join(' '));
  }
});

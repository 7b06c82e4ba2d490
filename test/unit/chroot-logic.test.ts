import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { chrootEnv } from '../../src/chroot/build-env.js';
import { mountPlan } from '../../src/chroot/mounts.js';
import { mountPoints, mountsUnder } from '../../src/util/mountinfo.js';
import { statStart } from '../../src/chroot/process.js';
import { describeReleased } from '../../src/chroot/recover.js';
import { rootArgv } from '../../src/chroot/run.js';
import { SANDBOX_ID, STAGE } from '../../src/sandbox/argv.js';
import { inspectElf } from '../../src/packages/elf.js';
import { elfSummary, keepGoingFailure, type ChrootPackage } from '../../src/phases/chroot.js';
import { inputsHash, toolchainIdentity } from '../../src/packages/inputs.js';

test('mountPlan: proc, dev, tmp, /root, /var/tmp, then the binds; refuses binds over them', () => {
  const plan = mountPlan([
    { host: '/w/build/zlib', inside: '/iglu/build', readOnly: false },
    { host: '/r', inside: '/iglu/runner', readOnly: true },
  ]);
  assert.deepEqual(
    plan.map((m) => `${m.type}:${m.target}`),
    ['proc:/proc', 'devtmpfs:/dev', 'tmpfs:/tmp', 'tmpfs:/root', 'tmpfs:/var/tmp', 'bind:/iglu/build', 'bind:/iglu/runner'],
  );
  assert.equal(plan.at(-1)?.options, 'ro');
  assert.throws(() => mountPlan([{ host: '/x', inside: '/dev/sda', readOnly: true }]), /would hide a system mount/);
  assert.throws(() => mountPlan([{ host: '/x', inside: '/root/x', readOnly: true }]), /would hide a system mount/);
  assert.throws(() => mountPlan([{ host: '/x', inside: '/', readOnly: true }]), /would hide the root/);
  assert.throws(() => mountPlan([{ host: '/x', inside: 'rel', readOnly: true }]), /absolute/);
  assert.throws(() => mountPlan([{ host: '/x', inside: '/a/../proc', readOnly: true }]), /normalised/);
});

test("mountPoints decodes mountinfo escapes; mountsUnder lists a directory's mounts deepest first", () => {
  const info = [
    '22 1 0:21 / /proc rw,nosuid - proc proc rw',
    '40 22 0:35 / /w/.iglu/chroot/root/proc rw - proc proc rw',
    '41 40 0:36 / /w/.iglu/chroot/root/dev/pts rw - devpts devpts rw',
    '42 40 0:37 / /w/.iglu/chroot/root/dev rw - tmpfs dev rw',
    '43 1 0:38 / /w/.iglu/chroot/root\\040two rw - tmpfs t rw',
    '44 1 0:39 / /w/.iglu/chroot/rootless rw - tmpfs t rw',
  ].join('\n');
  const points = mountPoints(info);
  assert.ok(points.includes('/w/.iglu/chroot/root two'));
  assert.deepEqual(mountsUnder(points, '/w/.iglu/chroot/root'), ['/w/.iglu/chroot/root/dev/pts', '/w/.iglu/chroot/root/proc', '/w/.iglu/chroot/root/dev']);
  assert.deepEqual(mountsUnder(points, '/elsewhere'), []);
});

test('statStart reads field 22 even when the command name has spaces and parentheses', () => {
  const line = '4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200 18446744073709551615';
  assert.equal(statStart(line), 987654);
  assert.equal(statStart('garbage'), undefined);
  const self = statStart(readFileSync('/proc/self/stat', 'utf8'));
  assert.ok(self !== undefined && self > 0);
});

test("inputsHash: a dependency's change reaches every dependent; order of keys does not matter", () => {
  const a = { recipe: 'r1', sources: { u1: 's1', u2: 's2' }, base: 'img', deps: {} };
  const idA = inputsHash(a);
  assert.equal(idA, inputsHash({ ...a, sources: { u2: 's2', u1: 's1' } }));
  const b = (dep: string) => inputsHash({ recipe: 'rb', sources: {}, base: 'img', deps: { a: dep, musl: toolchainIdentity('m') } });
  assert.notEqual(b(idA), b(inputsHash({ ...a, recipe: 'r1-changed' })));
  assert.notEqual(idA, inputsHash({ ...a, base: 'other' }));
  assert.notEqual(idA, inputsHash({ ...a, sources: { u1: 's1', u2: 'tampered' } }));
});

test('inspectElf: a dynamic glibc program from the host; not-ELF input', () => {
  const ls = inspectElf(readFileSync('/bin/ls'));
  assert.equal(ls?.static, false);
  assert.match(ls?.interpreter ?? '', /ld-linux-x86-64\.so\.2$/);
  assert.equal(ls?.libc, 'glibc');
  assert.ok(ls?.needed.includes('libc.so.6'), `DT_NEEDED of /bin/ls: ${ls?.needed.join(' ')}`);
  assert.equal(ls?.soname, undefined);
  const libc = inspectElf(readFileSync('/lib/x86_64-linux-gnu/libc.so.6'));
  assert.equal(libc?.soname, 'libc.so.6');
  assert.deepEqual(libc?.needed, ['ld-linux-x86-64.so.2']);
  assert.equal(inspectElf(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(80))), undefined);
});

test("inspectElf: a static ELF without PT_INTERP holding musl's strerror text", () => {
  // a minimal ELF64 header with one PT_LOAD program header, then musl's strerror(0) text
  const elf = Buffer.alloc(200);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2; // ELFCLASS64
  elf[5] = 1; // little endian
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeBigUInt64LE(64n, 32); // e_phoff
  elf.writeUInt16LE(56, 54); // e_phentsize
  elf.writeUInt16LE(1, 56); // e_phnum
  elf.writeUInt32LE(1, 64); // PT_LOAD
  elf.write('No error information', 130, 'latin1');
  assert.deepEqual(inspectElf(elf), { type: 'exec', interpreter: undefined, static: true, libc: 'musl', needed: [] });
});

test('rootArgv: bwrap as the sandbox uid, the root read-only, every namespace new, no network unless kept', () => {
  const cmd = {
    argv: ['mksh', 'x'],
    env: { A: '1 2' },
    binds: [
      { host: '/w/build/ws', inside: '/iglu/build', readOnly: false },
      { host: '/tree', inside: '/iglu/tree', readOnly: false, overlay: '/w/build/ws/layers' },
    ],
    output: { file: '/w/log' },
  };
  const argv = rootArgv('/w/root', cmd);
  // as root: a private mount namespace where sandbox-enter.sh stages the sources, then bwrap
  assert.deepEqual(argv.slice(0, 5), ['unshare', '--mount', '--propagation', 'private', '--']);
  const sep = argv.indexOf('--', 5);
  assert.deepEqual(argv.slice(7, sep), [
    STAGE,
    String(SANDBOX_ID),
    String(SANDBOX_ID),
    '3',
    'b',
    '/w/root',
    'b',
    '/w/build/ws',
    'o',
    '/tree',
    '/w/build/ws/layers',
  ]);
  const bwrap = argv.slice(sep + 1);
  assert.ok(bwrap.includes('--unshare-all') && !bwrap.includes('--share-net'));
  assert.ok(bwrap.includes('--die-with-parent') && bwrap.includes('--new-session'));
  assert.deepEqual(bwrap.slice(bwrap.indexOf('--cap-drop'), bwrap.indexOf('--cap-drop') + 2), ['--cap-drop', 'ALL']);
  assert.deepEqual(bwrap.slice(bwrap.indexOf('--ro-bind'), bwrap.indexOf('--ro-bind') + 3), ['--ro-bind', `${STAGE}/0`, '/']);
  assert.deepEqual(bwrap.slice(bwrap.indexOf('--bind'), bwrap.indexOf('--bind') + 3), ['--bind', `${STAGE}/1`, '/iglu/build']);
  assert.deepEqual(
    bwrap.slice(bwrap.lastIndexOf('--bind'), bwrap.lastIndexOf('--bind') + 3),
    ['--bind', `${STAGE}/2`, '/iglu/tree'],
    'the overlay is staged, then bound writable',
  );
  assert.ok(!bwrap.includes('chroot'), 'pivot_root through bwrap, never chroot');
  assert.deepEqual(bwrap.slice(-7), ['--clearenv', '--setenv', 'A', '1 2', '--', 'mksh', 'x']);
  const inContainer = rootArgv('/w/root', cmd, false);
  assert.ok(!inContainer.includes('--share-net'), 'no network in a container either: distcc goes through a socket');
  assert.ok(!inContainer.includes('--die-with-parent'), 'no parent-death signal under docker exec: its parent (runc) exits at once');
  assert.throws(() => rootArgv('/w/root', cmd, true, false), /overlay view of the recipe tree needs root/);
  const asUser = rootArgv('/w/root', { ...cmd, binds: cmd.binds.slice(0, 1) }, true, false);
  assert.equal(asUser[0], 'bwrap');
  assert.deepEqual(asUser.slice(asUser.indexOf('--ro-bind'), asUser.indexOf('--ro-bind') + 3), ['--ro-bind', '/w/root', '/']);
});

test("chrootEnv: CC=cc as iglupkg sets it, the target's cc first in PATH; iglupkg's cross variables; extras win", () => {
  const plain = chrootEnv(2);
  assert.equal(plain.CC, 'cc');
  assert.equal(plain.CXX, 'c++');
  assert.ok(plain.PATH!.startsWith('/iglu/runner/target-bin:'), plain.PATH);
  assert.equal(plain.FOR_CROSS, '');
  assert.equal(plain.HOST_ARCH, 'x86_64');
  assert.match(plain.CROSS_EXTRA_CFLAGS!, /--target=x86_64-unknown-linux-musl/);
  assert.match(plain.muon_base_args!, /-Dprefix=\/usr/);
  // pkg-config reads the sysroot's .pc files and prints paths under it, whichever pkg-config runs
  assert.equal(plain.PKG_CONFIG_LIBDIR, '/sysroot/usr/lib/pkgconfig:/sysroot/usr/share/pkgconfig');
  assert.equal(plain.PKG_CONFIG_SYSROOT_DIR, '/sysroot');
  const env = chrootEnv(4, { PATH: '/usr/lib/distcc:/usr/bin' });
  assert.equal(env.JOBS, '4');
  assert.equal(env.PATH, '/usr/lib/distcc:/usr/bin');
  assert.equal(env.SOURCE_DATE_EPOCH, '946684800');
});

test('describeReleased: silent when nothing was left', () => {
  assert.equal(describeReleased({ sessions: 0, killed: [], containers: [], unmounted: [] }), '');
  assert.equal(describeReleased({ sessions: 1, killed: [], containers: [], unmounted: [] }), 'released what an interrupted iglu left (1 session)');
  assert.match(
    describeReleased({ sessions: 2, killed: [7], containers: ['c'], unmounted: ['/w/root/proc'] }),
    /2 sessions: killed 1 orphaned build namespace; removed 1 container; unmounted \/w\/root\/proc/,
  );
});

test('elfSummary: dynamic programs with their loader, shared libraries, static files, what they need', () => {
  assert.equal(
    elfSummary([
      { static: false, interpreter: '/lib/ld-musl-x86_64.so.1', needed: ['libc.so', 'libzstd.so.1'] },
      { static: true, soname: 'libzstd.so.1', needed: ['libc.so'], shared: true },
      { static: true, shared: true }, // musl's libc.so: no DT_SONAME
      { static: true },
    ]),
    'ELF: 1 dynamic (/lib/ld-musl-x86_64.so.1), 2 shared libraries, 1 static; needs libc.so libzstd.so.1',
  );
});

test('keepGoingFailure: failed and blocked packages named, the failed logs as the hint; nothing when none failed', () => {
  const p = (name: string, action: ChrootPackage['action'], log = '') => ({
    name,
    version: '1-0',
    action,
    tarball: '',
    log,
    seconds: 0,
    binaries: [],
    compiles: null,
    subpackages: [],
  });
  const err = keepGoingFailure([p('a', 'built'), p('b', 'failed', '/w/logs/b.log'), p('c', 'blocked'), p('d', 'up to date')]);
  assert.equal(err?.message, '1 package failed (b); 1 blocked (c)');
  assert.equal(err?.hint, 'the logs: /w/logs/b.log');
  assert.equal(keepGoingFailure([p('a', 'built'), p('d', 'up to date')]), undefined);
  // a failed package's own hint (the undeclared dependency) comes first, named
  const withHint = keepGoingFailure([
    { ...p('openssh', 'failed', '/w/logs/openssh.log'), hint: 'zlib.h is in zlib-ng 2.2.2, which …' },
    p('e', 'failed', '/w/logs/e.log'),
  ]);
  assert.equal(withHint?.hint, 'openssh: zlib.h is in zlib-ng 2.2.2, which …\nthe logs: /w/logs/openssh.log /w/logs/e.log');
});

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { bootOutcome, cleanConsole, consoleTail } from '../../src/boot/console.js';
import { whyNotAnImage } from '../../src/boot/kernel.js';
import { IgluError } from '../../src/errors.js';
import { qemuArgs } from '../../src/boot/qemu-args.js';
import { loadMachines, parseMachines } from '../../src/boot/machines.js';
import { diskLayout, sfdiskScript } from '../../src/disk/layout.js';

// Console logs recorded from real boots of iglunix.img under QEMU (TCG) on this machine:
// test/fixtures/console/*.txt
const CONSOLE = path.resolve(import.meta.dirname, '../../../test/fixtures/console');
const recorded = (name: string) => readFileSync(path.join(CONSOLE, name), 'utf8');
const EXPECT = 'IGLUNIX BOOT OK';

test('the recorded consoles are all here', () => {
  assert.deepEqual(readdirSync(CONSOLE).sort(), ['efi-success.txt', 'panic-no-root.txt']);
});

test('a real EFI boot to the init line, then power-off: booted', () => {
  const out = bootOutcome(recorded('efi-success.txt'), EXPECT, { code: 0, timedOut: false });
  assert.equal(out.status, 'booted');
  assert.match(out.line ?? '', /^IGLUNIX BOOT OK: kernel=6\.1\.176 libc=musl-1\.2\.3 shell=mksh-R59/);
});

test('the same console cut off before power-off, qemu stopped by iglu: timeout, with the line', () => {
  const out = bootOutcome(recorded('efi-success.txt'), EXPECT, { timedOut: true });
  assert.equal(out.status, 'timeout');
  assert.ok(out.line);
});

test('a console cut off before init: timeout without the line', () => {
  const text = recorded('efi-success.txt');
  const out = bootOutcome(text.slice(0, text.indexOf(EXPECT)), EXPECT, { timedOut: true });
  assert.deepEqual(out, { status: 'timeout' });
});

test("a real panic (no root filesystem): panic, whatever qemu's exit", () => {
  const out = bootOutcome(recorded('panic-no-root.txt'), EXPECT, { code: 0, timedOut: false });
  assert.equal(out.status, 'panic');
  assert.match(out.panic ?? '', /Kernel panic - not syncing/);
});

test('garbage on the console: no-marker when qemu exits 0, qemu-died when it does not', () => {
  const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1');
  assert.deepEqual(bootOutcome(garbage, EXPECT, { code: 0, timedOut: false }), { status: 'no-marker' });
  assert.deepEqual(bootOutcome(garbage, EXPECT, { code: 1, timedOut: false }), { status: 'qemu-died' });
  assert.ok(!/[\x00-\x08\x0b-\x1f]/.test(cleanConsole(garbage)));
});

test('consoleTail: last lines, CRLF and escapes cleaned', () => {
  assert.equal(consoleTail('a\r\nb\r\n\x1b[2Jc\r\n', 2), 'b\nc');
});

const MACHINE = { machine: 'pc', firmware: '/o.fd', memoryMiB: 256, cpus: 1, devices: [] as string[] };

test('qemuArgs: the machine definition; no network, no reboot, snapshot disk; OVMF or direct kernel', () => {
  const efi = qemuArgs({ image: '/i.img', firmware: 'efi', accel: 'tcg', machine: MACHINE, interactive: false });
  assert.deepEqual(efi.slice(0, 8), ['-machine', 'pc', '-accel', 'tcg', '-m', '256', '-smp', '1']);
  for (const a of ['-nographic', '-no-reboot']) assert.ok(efi.includes(a));
  assert.deepEqual(efi.slice(efi.indexOf('-nic'), efi.indexOf('-nic') + 2), ['-nic', 'none']);
  assert.ok(efi.includes('file=/i.img,format=raw,if=virtio,snapshot=on'));
  assert.deepEqual(efi.slice(-2), ['-bios', '/o.fd']);
  const direct = qemuArgs({
    image: '/i.img',
    firmware: 'direct',
    accel: 'kvm',
    kernel: '/k',
    machine: { ...MACHINE, machine: 'q35', memoryMiB: 64, cpus: 2, devices: ['virtio-rng-pci'] },
    interactive: true,
  });
  assert.deepEqual(direct.slice(0, 10), ['-machine', 'q35', '-accel', 'kvm', '-m', '64', '-smp', '2', '-device', 'virtio-rng-pci']);
  assert.deepEqual(direct.slice(-2), ['-kernel', '/k']);
  assert.ok(direct.includes('name=opt/iglu/interactive,string=1'));
});

test("qemu/machines.yaml, iglu's own, parses: OVMF for efi, 256 MiB, pc", async () => {
  const m = await loadMachines(undefined);
  assert.equal(m.efi.firmware, '/usr/share/ovmf/OVMF.fd');
  assert.deepEqual([m.efi.machine, m.efi.memoryMiB, m.direct.machine], ['pc', 256, 'pc']);
});

test('machine definitions: a bad field is named with its file and line; efi without firmware is refused', () => {
  assert.throws(
    () => parseMachines('efi:\n  firmware: /f.fd\ndirect:\n  memoryMiB: lots\n', '/m.yaml'),
    (e: unknown) => e instanceof IgluError && /^\/m\.yaml:4: "direct\.memoryMiB"/.test(e.message),
  );
  assert.throws(() => parseMachines('efi:\n  machine: pc\ndirect: {}\n', '/m.yaml'), /"efi\.firmware" needs firmware/);
  assert.throws(() => parseMachines('efi:\n  firmware: /f.fd\n  devices: ["-hda /etc/passwd"]\ndirect: {}\n', '/m.yaml'), /devices\.0/);
});

test('diskLayout: 1 MiB, 32 MiB ESP, root to 1 MiB before the end; too small is refused', () => {
  const l = diskLayout(64);
  assert.deepEqual(l, { totalSectors: 131072, esp: { start: 2048, sectors: 65536 }, root: { start: 67584, sectors: 61440 } });
  assert.throws(() => diskLayout(40), /too small/);
  assert.match(sfdiskScript(l), /label: gpt\nlabel-id: [0-9A-F-]{36}\n/);
});

test("bootOutcome: the guest's failure line is a failed boot naming the checks, even when it powered off cleanly", () => {
  const text = 'smoke: ok loader\nsmoke: FAIL zstd\nIGLUNIX BOOT FAILED: smoke test: zstd\nreboot: Power down\n';
  assert.deepEqual(bootOutcome(text, EXPECT, { code: 0, timedOut: false }, 'IGLUNIX BOOT FAILED'), {
    status: 'check-failed',
    failure: 'IGLUNIX BOOT FAILED: smoke test: zstd',
  });
  // without a failure marker configured, the same console is a boot without the line
  assert.deepEqual(bootOutcome(text, EXPECT, { code: 0, timedOut: false }), { status: 'no-marker' });
});

test('whyNotAnImage: too small, not whole MiB, no GPT header; an image-shaped file passes', () => {
  const gpt = Buffer.alloc(520);
  gpt.write('EFI PART', 512, 'latin1');
  const MiB = 1024 * 1024;
  assert.equal(whyNotAnImage(0, Buffer.alloc(520)), 'it is 0 bytes, smaller than the smallest iglunix.img (42 MiB)');
  assert.equal(whyNotAnImage(64 * MiB + 1, gpt), `its size, ${64 * MiB + 1} bytes, is not a whole number of MiB`);
  assert.equal(whyNotAnImage(64 * MiB, Buffer.alloc(520)), 'it has no GPT header ("EFI PART" at byte 512)');
  assert.equal(whyNotAnImage(64 * MiB, gpt), undefined);
});

test('the fallback init is qemu/guest/init with boot.expect in place, escaped for its double-quoted string', async () => {
  const { initScript } = await import('../../src/disk/init.js');
  const text = await initScript('OK "up" $HOME `x` \\ $&');
  assert.match(text, /^#!\/bin\/mksh\n/);
  assert.ok(text.includes('print -r -- "OK \\"up\\" \\$HOME \\`x\\` \\\\ \\$&: kernel='), text);
  assert.doesNotMatch(text, /@EXPECT@/);
});

/**
 * bench/boot: time from starting a boot to the init's line, for `iglu boot` and for plain
 * qemu-system-x86_64 with the same arguments (qemu-args.ts, the accelerator iglu chose), in
 * the same run, rounds alternating — for QEMU's direct kernel boot and for OVMF booting
 * the ESP. Prints medians and the ratio iglu/plain (the cost of iglu around qemu). Needs an
 * image: run `iglu build` first and pass its work directory.
 *
 *   node dist/bench/boot.js --workdir DIR [--rounds N]
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { chooseAccel } from '../src/boot/accel.js';
import { kernelFromImage } from '../src/boot/kernel.js';
import { qemuArgs } from '../src/boot/qemu-args.js';
import { loadMachines } from '../src/boot/machines.js';
import { CLI } from '../test/support/cli.js';
import { median } from './median.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : dflt);
const workdir = path.resolve(opt('--workdir', '.iglu'));
const rounds = Number(opt('--rounds', '3'));
const image = path.join(workdir, 'iglunix.img');
const EXPECT = 'IGLUNIX BOOT OK';

const bootDir = path.join(workdir, 'boot');
const kernel = await kernelFromImage(image, Math.round((await stat(image)).size / 2 ** 20), bootDir);
const { accel, reason } = await chooseAccel(kernel, bootDir);
const machines = await loadMachines(undefined);

/** Seconds from spawning plain qemu to the line on its console. */
async function plain(firmware: 'efi' | 'direct'): Promise<number> {
  const t0 = performance.now();
  const child = execa('qemu-system-x86_64', qemuArgs({ image, firmware, accel, kernel, machine: machines[firmware], interactive: false }), {
    stdin: 'ignore',
    buffer: false,
    reject: false,
    timeout: 120_000,
  });
  let text = '';
  let at = 0;
  child.stdout.on('data', (c: Buffer) => {
    text += c.toString();
    if (!at && text.includes(EXPECT)) at = performance.now();
  });
  await child;
  if (!at) throw new Error(`plain qemu (${firmware}) never printed ${EXPECT}`);
  return (at - t0) / 1000;
}

/** Seconds from starting `iglu boot` to the line (its own stopwatch starts at qemu's spawn; this one at iglu's). */
async function viaIglu(firmware: 'efi' | 'direct'): Promise<number> {
  const t0 = performance.now();
  const child = execa('node', [CLI, '--workdir', workdir, 'boot', '--firmware', firmware], { stdin: 'ignore', buffer: false, reject: false });
  let text = '';
  let at = 0;
  child.stderr.on('data', (c: Buffer) => {
    text += c.toString();
    if (!at && text.includes(EXPECT)) at = performance.now();
  });
  const r = await child;
  if (!at || r.exitCode !== 0) throw new Error(`iglu boot (${firmware}) failed`);
  return (at - t0) / 1000;
}

console.log(`accelerator: ${accel} (${reason}); ${rounds} rounds, alternating`);
for (const firmware of ['direct', 'efi'] as const) {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    b.push(await plain(firmware));
    a.push(await viaIglu(firmware));
  }
  console.log(
    `${firmware.padEnd(6)}: plain qemu ${median(b).toFixed(2)} s, iglu boot ${median(a).toFixed(2)} s, ratio iglu/plain ${(median(a) / median(b)).toFixed(2)}`,
  );
}

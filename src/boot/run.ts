import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Config } from '../config/schema.js';
import { ExitCode, IgluError } from '../errors.js';
import { exists } from '../util/exists.js';
import type { Workdir } from '../layout/workdir.js';
import { chooseAccel } from './accel.js';
import { bootOutcome, consoleTail, findExpected, type BootStatus } from './console.js';
import { checkImageFile, kernelFromImage } from './kernel.js';
import { loadMachines, type MachineDef } from './machines.js';
import { qemuArgs } from './qemu-args.js';

/** Inputs of `iglu boot`. */
export interface BootOptions {
  workdir: Workdir;
  config: Config;
  image: string;
  firmware: 'efi' | 'direct';
  timeoutS: number;
  expect: string;
  /** The line a guest prints when its own checks failed (boot.fail). */
  fail?: string;
  interactive: boolean;
  /** Console output as it comes (the live view); not called with --interactive. */
  live?: (chunk: string) => void;
  signal?: AbortSignal;
}

/** The result of `iglu boot` (--json). */
export interface BootResult {
  status: BootStatus;
  image: string;
  firmware: 'efi' | 'direct';
  accel: 'kvm' | 'tcg';
  accelReason: string;
  /** The console line that proved the boot. */
  line?: string;
  /** Seconds from starting qemu to the expected line. */
  secondsToLine?: number;
  /** Seconds until qemu exited. */
  seconds: number;
  log: string;
}

/**
 * Boots an image under qemu-system-x86_64 — the machine definition of `firmware` from
 * qemu/machines.yaml (or boot.machines) — with the serial console captured to
 * `<workdir>/logs/boot.log` and passed to `live`. KVM only when a probe guest runs under
 * it (accel.ts), TCG otherwise. Succeeds when init prints `expect` and the guest then
 * powers off. qemu runs under setpriv --pdeathsig KILL and is killed in a finally, so it
 * never outlives iglu. `interactive` hands the console to the terminal instead.
 * @throws IgluError for a file that is not an iglunix.img (checkImageFile); with the
 *   console's tail for a guest's failure line (its smoke test
 *   naming the failed checks), a timeout, a kernel panic, qemu dying or the line never
 *   coming; for a missing image, OVMF or qemu
 */
export async function bootImage(o: BootOptions): Promise<BootResult> {
  if (!(await exists(o.image))) throw new IgluError(`no image at ${o.image}`, { hint: 'make it with iglu image (or iglu build)' });
  const machine = await machineFor(o);
  const bootDir = await o.workdir.dir('boot');
  const sizeMiB = await checkImageFile(o.image);
  const kernel = await kernelFromImage(o.image, sizeMiB, bootDir);
  const { accel, reason } = await chooseAccel(kernel, bootDir);
  const args = qemuArgs({ image: o.image, firmware: o.firmware, accel, kernel, machine, interactive: o.interactive });
  const logFile = path.join(o.workdir.logsDir, 'boot.log');
  await mkdir(path.dirname(logFile), { recursive: true });
  const started = Date.now();
  const child = execa('setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', ...args], {
    reject: false,
    stdin: o.interactive ? 'inherit' : 'ignore',
    stdout: o.interactive ? 'inherit' : 'pipe',
    stderr: o.interactive ? 'inherit' : 'pipe',
    buffer: false,
    cancelSignal: o.signal,
    forceKillAfterDelay: 1000,
  });
  const base = { image: o.image, firmware: o.firmware, accel, accelReason: reason, log: logFile };
  if (o.interactive) return { ...base, ...(await interactiveBoot(child, started)) };
  const watched = await watchConsole(child, o, logFile, started);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const outcome = bootOutcome(watched.text, o.expect, { code: watched.code, timedOut: watched.timedOut }, o.fail);
  if (outcome.status !== 'booted') throw bootFailure(o, outcome, watched, logFile);
  const secondsToLine = watched.secondsToLine && Math.round(watched.secondsToLine * 10) / 10;
  return { ...base, status: 'booted', line: outcome.line, secondsToLine, seconds };
}

/** The machine definition of `o.firmware` (qemu/machines.yaml or boot.machines), boot.memoryMiB over it. @throws IgluError when EFI firmware is missing */
async function machineFor(o: BootOptions): Promise<MachineDef> {
  const machines = await loadMachines(o.config.boot.machines);
  const machine = { ...machines[o.firmware], ...(o.config.boot.memoryMiB ? { memoryMiB: o.config.boot.memoryMiB } : {}) };
  const ovmf = machine.firmware;
  if (o.firmware === 'efi' && !(ovmf && (await exists(ovmf))))
    throw new IgluError(`EFI firmware ${ovmf} is missing`, {
      hint: 'apt-get install ovmf (or set efi.firmware in the machine definitions), or boot with --firmware direct',
    });
  return machine;
}

type Qemu = ReturnType<typeof execa>;

/** Waits for qemu with the console on the terminal. */
async function interactiveBoot(child: Qemu, started: number): Promise<Pick<BootResult, 'status' | 'seconds'>> {
  try {
    const res = await child;
    if (res.exitCode === undefined && !res.isCanceled)
      throw new IgluError(`cannot run qemu-system-x86_64: ${res.shortMessage}`, { hint: 'apt-get install qemu-system-x86 (scripts/setup.sh does)' });
    return { status: res.exitCode === 0 ? 'booted' : 'qemu-died', seconds: (Date.now() - started) / 1000 };
  } finally {
    child.kill('SIGKILL');
  }
}

/** What the serial console showed until qemu exited (or boot.timeout killed it). */
interface Watched {
  text: string;
  code: number | undefined;
  timedOut: boolean;
  /** Seconds from start to the expected line, when it came. */
  secondsToLine: number | undefined;
}

/**
 * Captures qemu's console into `logFile` and `o.live` until it exits, killing it after
 * `o.timeoutS` seconds. @throws IgluError when qemu cannot run, or "boot interrupted" (exit 130)
 */
async function watchConsole(child: Qemu, o: BootOptions, logFile: string, started: number): Promise<Watched> {
  const logStream = createWriteStream(logFile);
  const w: Watched = { text: '', code: undefined, timedOut: false, secondsToLine: undefined };
  const timer = setTimeout(() => {
    w.timedOut = true;
    child.kill('SIGKILL');
  }, o.timeoutS * 1000);
  const onData = (chunk: Buffer) => {
    const s = chunk.toString('utf8');
    w.text += s;
    logStream.write(chunk);
    o.live?.(s);
    if (w.secondsToLine === undefined && findExpected(w.text, o.expect)) w.secondsToLine = (Date.now() - started) / 1000;
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  try {
    const res = await child;
    if (res.exitCode === undefined && !res.isCanceled && !w.timedOut && !res.signal)
      throw new IgluError(`cannot run qemu-system-x86_64: ${res.shortMessage}`, { hint: 'apt-get install qemu-system-x86 (scripts/setup.sh does)' });
    if (res.isCanceled) throw new IgluError('boot interrupted', { hint: `the console so far is in ${logFile}`, exitCode: ExitCode.interrupted });
    w.code = res.exitCode;
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
    await new Promise((resolve) => logStream.end(resolve));
  }
  return w;
}

/** The error of a boot that did not come up: why, and the console's last lines. Pure. */
function bootFailure(o: BootOptions, outcome: ReturnType<typeof bootOutcome>, w: Watched, logFile: string): IgluError {
  const why = {
    booted: '',
    'check-failed': `the guest's checks failed (${outcome.failure})`,
    panic: `the kernel panicked (${outcome.panic})`,
    timeout: `no power-off within ${o.timeoutS} s${outcome.line ? ' (the line came, the power-off did not)' : ''}`,
    'qemu-died': `qemu exited with ${w.code}`,
    'no-marker': `the guest powered off without printing "${o.expect}"`,
  }[outcome.status];
  return new IgluError(`${o.image} did not boot: ${why}; the console's last lines:\n${consoleTail(w.text)}`, { hint: `the whole console is in ${logFile}` });
}

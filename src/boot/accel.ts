import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { log } from '../log.js';
import { cleanConsole } from './console.js';

/** What the probe found, cached per qemu version and host kernel. */
interface AccelCache {
  key: string;
  accel: 'kvm' | 'tcg';
  reason: string;
}

/**
 * KVM or TCG, decided by running a guest rather than by trusting /dev/kvm: a nested or
 * restricted host can have the device node and still fail every guest (qemu aborts, or
 * hangs before the firmware). The probe direct-boots `kernel` under -accel kvm for up to
 * 15 s and takes KVM only when the kernel's "Linux version" banner reaches the serial
 * console. The answer is cached in `cacheDir/accel.json` per qemu version and host kernel
 * release, so later boots do not pay for it.
 * @returns the accelerator and why
 */
export async function chooseAccel(kernel: string, cacheDir: string): Promise<{ accel: 'kvm' | 'tcg'; reason: string }> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: 'no usable /dev/kvm' };
  }
  const version = (await execa('qemu-system-x86_64', ['--version'], { reject: false })).stdout.split('\n')[0] ?? '';
  const release = (await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim();
  const key = `${version} | ${release}`;
  const file = path.join(cacheDir, 'accel.json');
  const cached = await readFile(file, 'utf8')
    .then((t) => JSON.parse(t) as AccelCache)
    .catch(() => undefined);
  if (cached?.key === key) return { accel: cached.accel, reason: `${cached.reason} (probed before)` };
  const res = await execa(
    'setpriv',
    [
      '--pdeathsig',
      'KILL',
      '--',
      'qemu-system-x86_64',
      '-accel',
      'kvm',
      '-m',
      '128',
      '-nographic',
      '-nic',
      'none',
      '-no-reboot',
      '-kernel',
      kernel,
      '-append',
      'console=ttyS0 panic=-1',
    ],
    {
      reject: false,
      stdin: 'ignore',
      timeout: 15_000,
      forceKillAfterDelay: 1000,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const text = cleanConsole(`${String(res.stdout)}\n${String(res.stderr)}`);
  log.build('kvm probe: exit %s, timed out %s, %s', res.exitCode, res.timedOut, text.slice(-300));
  const works = text.includes('Linux version');
  const result: AccelCache = {
    key,
    accel: works ? 'kvm' : 'tcg',
    reason: works
      ? 'a probe guest booted under KVM'
      : `/dev/kvm exists but a probe guest did not boot under it (${res.timedOut ? 'no output in 15 s' : text.trim().split('\n').at(-1) || `qemu exit ${res.exitCode}`})`,
  };
  await mkdir(cacheDir, { recursive: true });
  await writeFile(file, `${JSON.stringify(result)}\n`);
  return { accel: result.accel, reason: result.reason };
}

import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import path from 'node:path';
import { Engine } from '../docker/index.js';
import { describe } from '../errors.js';
import { KERNEL_FEATURES, hasFeature, runningKernelConfig, type KernelFeature } from '../host/kernel.js';

/** One line of `iglu doctor`. */
export interface Check {
  name: string;
  ok: boolean;
  /** A failed required check makes doctor exit 1; others are advice. */
  required: boolean;
  detail: string;
  /** What to do when it is not ok. */
  fix?: string;
}

/** Host tools iglu runs, whether they are required now, and the Debian package with them. */
export const HOST_TOOLS: { tool: string; pkg: string; required: boolean; why: string }[] = [
  { tool: 'dockerd', pkg: 'docker.io', required: true, why: 'the Docker Engine' },
  { tool: 'debootstrap', pkg: 'debootstrap', required: true, why: 'iglu image build' },
  { tool: 'tar', pkg: 'tar', required: true, why: 'iglu image build, packages' },
  { tool: 'zstd', pkg: 'zstd', required: true, why: 'package tarballs' },
  { tool: 'chroot', pkg: 'coreutils', required: true, why: 'iglu image build, the chroot phase' },
  { tool: 'mksh', pkg: 'mksh', required: true, why: 'reading Iglunix recipes, the package runner' },
  { tool: 'unshare', pkg: 'util-linux', required: true, why: "the chroot phase's namespaces" },
  { tool: 'setpriv', pkg: 'util-linux', required: true, why: 'the chroot phase, qemu: nothing outlives iglu' },
  { tool: 'mke2fs', pkg: 'e2fsprogs', required: true, why: 'iglu image: the ext4 root' },
  { tool: 'debugfs', pkg: 'e2fsprogs', required: true, why: 'iglu image: owners and times' },
  { tool: 'mkfs.fat', pkg: 'dosfstools', required: true, why: 'iglu image: the ESP' },
  { tool: 'mcopy', pkg: 'mtools', required: true, why: 'iglu image: the kernel onto the ESP' },
  { tool: 'sfdisk', pkg: 'fdisk', required: true, why: 'iglu image: the GPT' },
  { tool: 'qemu-system-x86_64', pkg: 'qemu-system-x86', required: true, why: 'iglu boot' },
  { tool: 'iptables', pkg: 'iptables', required: false, why: 'overlay traffic between engines on one host' },
  { tool: 'ip', pkg: 'iproute2', required: false, why: 'extra engines in network namespaces' },
  { tool: 'distcc', pkg: 'distcc', required: false, why: 'compiling through the farm from this host' },
];

/** Files from Debian packages iglu reads. */
export const HOST_FILES: { file: string; pkg: string; why: string }[] = [{ file: '/usr/share/ovmf/OVMF.fd', pkg: 'ovmf', why: 'iglu boot --firmware efi' }];

/**
 * The required host tools and files that are missing, with the Debian package of each
 * (so a caller can print one apt-get line).
 */
export async function missingOnHost(): Promise<{ what: string; pkg: string; why: string }[]> {
  const missing: { what: string; pkg: string; why: string }[] = [];
  for (const t of HOST_TOOLS) if (t.required && !(await which(t.tool))) missing.push({ what: t.tool, pkg: t.pkg, why: t.why });
  for (const f of HOST_FILES)
    if (
      !(await access(f.file).then(
        () => true,
        () => false,
      ))
    )
      missing.push({ what: f.file, pkg: f.pkg, why: f.why });
  return missing;
}

/** Whether the kernel features the farm needs are present; IP_VS and INET_ESP are advice. */
export function kernelChecks(config: Map<string, string> | undefined): Check[] {
  if (!config) return [{ name: 'kernel config', ok: true, required: false, detail: 'no /proc/config.gz: features not checked' }];
  const required: KernelFeature[] = ['VXLAN', 'OVERLAY_FS', 'BRIDGE', 'VETH'];
  return (Object.keys(KERNEL_FEATURES) as KernelFeature[]).map((f) => {
    const ok = hasFeature(config, f) === true;
    const isRequired = required.includes(f);
    const fix = f === 'IP_VS' ? 'nothing: iglu uses endpoint mode dnsrr' : f === 'INET_ESP' ? 'keep farm.encrypted: false' : `use a kernel with CONFIG_${f}`;
    return { name: `kernel CONFIG_${f}`, ok, required: isRequired, detail: `${ok ? 'present' : 'absent'}: ${KERNEL_FEATURES[f]}`, fix: ok ? undefined : fix };
  });
}

/** Runs every check against this host and the engine at `endpoint`. */
export async function runChecks(endpoint: string): Promise<Check[]> {
  const checks: Check[] = [];
  checks.push({
    name: 'root',
    ok: process.getuid?.() === 0,
    required: false,
    detail: `uid ${process.getuid?.()}`,
    fix: 'run as root for image builds, chroots and extra engines',
  });
  try {
    const info = await new Engine(endpoint).info();
    checks.push({ name: 'Docker Engine', ok: true, required: true, detail: `${endpoint}: Docker ${info.serverVersion}, ${info.cpus} CPUs` });
    checks.push({ name: 'swarm', ok: true, required: false, detail: `${info.swarm.state}${info.swarm.isManager ? ' (manager)' : ''}` });
  } catch (err) {
    checks.push({
      name: 'Docker Engine',
      ok: false,
      required: true,
      detail: describe(err),
      fix: 'apt-get install docker.io, then start dockerd (scripts/setup.sh does both)',
    });
  }
  checks.push(...kernelChecks(await runningKernelConfig()));
  checks.push(await kvmCheck());
  for (const t of HOST_TOOLS) {
    const found = await which(t.tool);
    checks.push({
      name: t.tool,
      ok: Boolean(found),
      required: t.required,
      detail: found ?? `missing (${t.why})`,
      fix: found ? undefined : `apt-get install ${t.pkg}`,
    });
  }
  return checks;
}

async function kvmCheck(): Promise<Check> {
  try {
    const fd = await open('/dev/kvm', constants.O_RDWR);
    await fd.close();
    return { name: '/dev/kvm', ok: true, required: false, detail: 'opens read-write (whether it runs guests is tested by iglu boot; QEMU falls back to TCG)' };
  } catch (err) {
    return { name: '/dev/kvm', ok: false, required: false, detail: `not usable: ${describe(err)}`, fix: 'nothing: QEMU runs under TCG, slower' };
  }
}

async function which(tool: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, tool);
    if (
      await access(p, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return undefined;
}

/** True when no required check failed. Pure. */
export function healthy(checks: Check[]): boolean {
  return checks.every((c) => c.ok || !c.required);
}

import type { MachineDef } from './machines.js';

/** How to start the guest. */
export interface QemuSpec {
  image: string;
  firmware: 'efi' | 'direct';
  accel: 'kvm' | 'tcg';
  /** The EFI-stub kernel, for `direct` (QEMU's -kernel). */
  kernel?: string;
  /** The machine definition of `firmware` (qemu/machines.yaml): machine type, -bios file, memory, CPUs, devices. */
  machine: MachineDef;
  /** Tell init (fw_cfg opt/iglu/interactive) to give the console a shell. */
  interactive: boolean;
}

/**
 * qemu-system-x86_64's arguments (qemu(1)): the machine definition's type, memory, CPUs
 * and devices; the serial console on stdio (-nographic), no
 * network (-nic none), a reboot ends qemu (-no-reboot), the image as a virtio disk opened
 * with snapshot=on so a boot never changes it, and either OVMF (-bios) booting
 * \\EFI\\BOOT\\BOOTX64.EFI from the ESP or QEMU's direct kernel boot (-kernel; the kernel's
 * built-in command line applies). Pure.
 */
export function qemuArgs(s: QemuSpec): string[] {
  return [
    '-machine',
    s.machine.machine,
    '-accel',
    s.accel,
    '-m',
    String(s.machine.memoryMiB),
    '-smp',
    String(s.machine.cpus),
    ...s.machine.devices.flatMap((d) => ['-device', d]),
    '-nographic',
    '-nic',
    'none',
    '-no-reboot',
    '-drive',
    `file=${s.image},format=raw,if=virtio,snapshot=on`,
    '-fw_cfg',
    `name=opt/iglu/interactive,string=${s.interactive ? 1 : 0}`,
    ...(s.firmware === 'efi' ? ['-bios', s.machine.firmware ?? ''] : ['-kernel', s.kernel ?? '']),
  ];
}

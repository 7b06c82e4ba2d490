/** How to start the guest. */
export interface QemuSpec {
  image: string;
  firmware: 'efi' | 'direct';
  accel: 'kvm' | 'tcg';
  /** The EFI-stub kernel, for `direct` (QEMU's -kernel). */
  kernel?: string;
  /** OVMF firmware file, for `efi` (-bios). */
  ovmf: string;
  memoryMiB: number;
  /** Tell init (fw_cfg opt/iglu/interactive) to give the console a shell. */
  interactive: boolean;
}

/**
 * qemu-system-x86_64's arguments (qemu(1)): the serial console on stdio (-nographic), no
 * network (-nic none), a reboot ends qemu (-no-reboot), the image as a virtio disk opened
 * with snapshot=on so a boot never changes it, and either OVMF (-bios) booting
 * \\EFI\\BOOT\\BOOTX64.EFI from the ESP or QEMU's direct kernel boot (-kernel; the kernel's
 * built-in command line applies). Pure.
 */
export function qemuArgs(s: QemuSpec): string[] {
  return [
    '-accel', s.accel,
    '-m', String(s.memoryMiB),
    '-nographic', '-nic', 'none', '-no-reboot',
    '-drive', `file=${s.image},format=raw,if=virtio,snapshot=on`,
    '-fw_cfg', `name=opt/iglu/interactive,string=${s.interactive ? 1 : 0}`,
    ...(s.firmware === 'efi' ? ['-bios', s.ovmf] : ['-kernel', s.kernel ?? '']),
  ];
}

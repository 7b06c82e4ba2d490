/**
 * The image's /sbin/init, a mksh script (pure text). It mounts /proc, /sys and /tmp
 * (devtmpfs is mounted by the kernel: DEVTMPFS_MOUNT), prints one line proving what
 * booted — `expect`, the kernel release (uname -r), the C library as musl's own loader
 * reports it, and the shell's KSH_VERSION — then powers off (busybox poweroff -f,
 * reboot(2) with RB_POWER_OFF through ACPI). When QEMU's fw_cfg carries
 * opt/iglu/interactive = 1 (iglu boot --interactive), it runs a login shell on the
 * console first and powers off when the shell exits.
 */
export function initScript(expect: string): string {
  const quoted = expect.replace(/[\\"$`]/g, '\\$&');
  return `#!/bin/mksh
# /sbin/init of iglunix.img, written by iglu image.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH HOME=/root TERM=linux
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t tmpfs tmpfs /tmp
libc=$(/lib/ld-musl-x86_64.so.1 2>&1 | $bb sed -n 's/^Version /musl-/p')
shell=\${KSH_VERSION#*KSH }
print -r -- "${quoted}: kernel=$($bb uname -r) libc=\${libc:-unknown} shell=mksh-\${shell%% *}"
if [ "$($bb cat /sys/firmware/qemu_fw_cfg/by_name/opt/iglu/interactive/raw 2>/dev/null)" = 1 ]; then
\tprint -r -- "iglunix: a shell on the console; exit it to power off"
\t$bb setsid -c /bin/mksh -l
fi
$bb sync
$bb poweroff -f
`;
}

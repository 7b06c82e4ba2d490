# run-in-root.sh — the inside of every command iglu runs in the build root.
#
#   sh run-in-root.sh ROOT MOUNTS_FILE HOSTNAME -- COMMAND [ARG...]
#
# iglu starts it as PID 1 of new mount, PID, IPC, UTS and (unless the network is the
# farm's internal overlay) network namespaces, made by unshare(1) with private mount
# propagation. Every mount below happens in that private mount namespace: the host never
# sees them, and the kernel drops them all when the namespace's last process ends — on
# success, failure, Ctrl-C, SIGTERM or SIGKILL alike. iglu also records them in
# chroot/state.json before it starts this script.
#
# MOUNTS_FILE has one mount per line, "TYPE SOURCE TARGET OPTIONS", TARGET relative to
# ROOT; TYPE "bind" bind-mounts SOURCE (OPTIONS ro or rw). A tmpfs on /dev gets the
# standard device nodes (devices(7)'s null, zero, full, random, urandom, tty) and links.
set -eu
root=$1 mounts=$2 name=$3
shift 3
[ "$1" = -- ] && shift

populate_dev() {
	d=$1
	for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
		IFS=: read -r node major minor <<EOF
$n
EOF
		mknod -m 666 "$d/$node" c "$major" "$minor"
	done
	ln -s /proc/self/fd "$d/fd"
	ln -s /proc/self/fd/0 "$d/stdin"
	ln -s /proc/self/fd/1 "$d/stdout"
	ln -s /proc/self/fd/2 "$d/stderr"
	ln -s pts/ptmx "$d/ptmx"
	mkdir -m 1777 "$d/shm"
}

while read -r type source target options; do
	[ -n "$type" ] || continue
	dir=$root$target
	mkdir -p "$dir"
	if [ "$type" = bind ]; then
		mount --bind "$source" "$dir"
		[ "$options" = ro ] && mount -o remount,bind,ro "$dir"
	else
		mount -t "$type" -o "$options" "$source" "$dir"
		[ "$type" = tmpfs ] && [ "$target" = /dev ] && populate_dev "$dir"
	fi
done <"$mounts"

hostname "$name" 2>/dev/null || :
# the loopback of a new network namespace starts down
command -v ip >/dev/null 2>&1 && ip link set lo up 2>/dev/null || :

# Not exec: this shell stays PID 1 and reaps orphans; its exit ends the namespace.
set +e
chroot "$root" "$@"
exit $?

# sandbox-enter.sh — iglu's own launcher of the bubblewrap sandbox (never recipe code).
#
#   sh sandbox-enter.sh STAGE UID GID N SRC_1 … SRC_N -- BWRAP_ARG…
#
# iglu runs it as root in a new, private mount namespace (unshare --mount --propagation
# private). The sandbox runs as an unprivileged uid, which cannot reach host directories
# behind a 0700 parent (a work directory under /root, mkdtemp's 0700): so, still as root,
# it mounts a tmpfs on STAGE and bind-mounts each SRC_i (a directory or file) on STAGE/i there.
# Those mounts exist only in this private namespace and vanish with it. Then it drops to
# UID:GID with no supplementary groups (setpriv(1)) and execs bwrap(1) with the rest of
# its arguments, which refer to STAGE/i. bwrap's own user namespace maps its root to UID:
# root inside is no one outside.
set -eu
stage=$1 uid=$2 gid=$3 n=$4
shift 4
mkdir -p "$stage"
mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev iglu-stage "$stage"
i=0
while [ "$i" -lt "$n" ]; do
	if [ -d "$1" ]; then mkdir "$stage/$i"; else : >"$stage/$i"; fi
	mount --bind "$1" "$stage/$i"
	i=$((i + 1))
	shift
done
[ "$1" = -- ] && shift
exec setpriv --reuid "$uid" --regid "$gid" --clear-groups -- bwrap "$@"

# sandbox-enter.sh — iglu's own launcher of the bubblewrap sandbox (never recipe code).
#
#   sh sandbox-enter.sh STAGE UID GID N SOURCE_1 … SOURCE_N -- BWRAP_ARG…
#   SOURCE: b PATH               a directory or file, bound as it is
#           o LOWER LAYERS       an overlay: LOWER read-only below, LAYERS/upper above
#                                (LAYERS/work is overlayfs' work directory)
#
# iglu runs it as root in a new, private mount namespace (unshare --mount --propagation
# private). The sandbox runs as an unprivileged uid, which cannot reach host directories
# behind a 0700 parent (a work directory under /root, mkdtemp's 0700): so, still as root,
# it mounts a tmpfs on STAGE and mounts each SOURCE_i on STAGE/i there (a bind mount, or
# an overlayfs whose layers are first bound under STAGE, so that no host path reaches
# the mount options). Those mounts exist only in this private namespace and vanish with
# it. Then it drops to UID:GID with no supplementary groups (setpriv(1)) and execs
# bwrap(1) with the rest of its arguments, which refer to STAGE/i. bwrap's own user
# namespace maps its root to UID: root inside is no one outside.
set -eu
stage=$1 uid=$2 gid=$3 n=$4
shift 4
mkdir -p "$stage"
mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev iglu-stage "$stage"
i=0
while [ "$i" -lt "$n" ]; do
	case $1 in
	b)
		if [ -d "$2" ]; then mkdir "$stage/$i"; else : >"$stage/$i"; fi
		mount --bind "$2" "$stage/$i"
		shift 2
		;;
	o)
		mkdir "$stage/$i" "$stage/lower.$i" "$stage/layers.$i"
		mount --bind "$2" "$stage/lower.$i"
		mount --bind "$3" "$stage/layers.$i"
		mount -t overlay -o "lowerdir=$stage/lower.$i,upperdir=$stage/layers.$i/upper,workdir=$stage/layers.$i/work" iglu-overlay "$stage/$i"
		shift 3
		;;
	*) echo "sandbox-enter.sh: unknown source kind $1" >&2; exit 2 ;;
	esac
	i=$((i + 1))
done
[ "$1" = -- ] && shift
exec setpriv --reuid "$uid" --regid "$gid" --clear-groups -- bwrap "$@"

# iglupkg.sh — iglu's package runner. Runs the phases of one Iglunix recipe the way
# Iglunix's iglupkg does; iglu runs it on the host (fetch), in the farm's client
# container (toolchain phase) and inside the chroot (chroot phase). Needs mksh.
#
#   mksh iglupkg.sh PHASES        PHASES: any of f (fetch), b (build), p (package)
#
# Environment: IGLU_RECIPE (path of build.sh), IGLU_BUILD_DIR (holds src/ and pkg/),
# and the runner's variables iglu sets: ARCH TRIPLE HOST_TRIPLE CC CXX AR RANLIB CFLAGS
# CXXFLAGS JOBS SOURCE_DATE_EPOCH.
# Stamps src/.fetched, src/.built and src/.packaged let a rerun skip finished phases;
# f starts over (wipes src/ and pkg/).
set -e
: "${IGLU_RECIPE:?IGLU_RECIPE is not set}" "${IGLU_BUILD_DIR:?IGLU_BUILD_DIR is not set}"
srcdir=$IGLU_BUILD_DIR/src
pkgdir=$IGLU_BUILD_DIR/pkg
MAKEFLAGS=-j${JOBS:-1}
export srcdir pkgdir MAKEFLAGS

die() { print -r -- "iglupkg: $*" >&2; exit 1; }
say() { print -r -- "iglupkg: $*"; }

# `bad --gmake gmake ARGS` runs a GNU tool; without Iglunix's bad and gmake, the GNU
# tools of the build environment stand in (iglupkg stubs them the same way).
command -v bad >/dev/null 2>&1 || bad() {
	while [ $# -gt 0 ]; do case $1 in --*) shift ;; *) break ;; esac; done
	"$@"
}
command -v gmake >/dev/null 2>&1 || gmake() { make "$@"; }
# Native builds only: auto_cross has nothing to add.
auto_cross() { :; }

cd "${IGLU_RECIPE%/*}"
. "$IGLU_RECIPE"
recipedir=$PWD

need() { typeset -f "$1" >/dev/null 2>&1 || die "$IGLU_RECIPE has no $1() function"; }

phases=$1
while [ -n "$phases" ]; do
	phase=${phases%"${phases#?}"}
	phases=${phases#?}
	case $phase in
	f)
		need fetch
		say "$pkgname $pkgver: fetch"
		rm -rf "$srcdir" "$pkgdir"
		mkdir -p "$srcdir"
		(set -e; cd "$srcdir"; fetch)
		: >"$srcdir/.fetched"
		;;
	b)
		need build
		[ -f "$srcdir/.fetched" ] || die "$pkgname: build before fetch"
		if [ -f "$srcdir/.built" ]; then
			say "$pkgname $pkgver: build: done before, skipped"
		else
			say "$pkgname $pkgver: build (JOBS=$JOBS)"
			(set -e; cd "$srcdir"; build)
			: >"$srcdir/.built"
		fi
		;;
	p)
		need package
		[ -f "$srcdir/.built" ] || die "$pkgname: package before build"
		if [ -f "$srcdir/.packaged" ] && [ -d "$pkgdir" ]; then
			say "$pkgname $pkgver: package: done before, skipped"
		else
			say "$pkgname $pkgver: package"
			rm -rf "$pkgdir"
			mkdir -p "$pkgdir"
			(set -e; cd "$srcdir"; package)
			# iglupkg's metadata: usr/share/iglupkg/<pkgname> with [pkg], [license], [fs]
			meta=$pkgdir/usr/share/iglupkg/$pkgname
			mkdir -p "${meta%/*}"
			{
				print -r -- "[pkg]"
				print -r -- "name=$pkgname"
				print -r -- "ver=$pkgver"
				print -r -- "rel=${pkgrel:-0}"
				print -r -- "deps=${deps:-}"
				print -r -- "[license]"
				if typeset -f license >/dev/null 2>&1; then (cd "$srcdir" && license); fi
				print -r -- "[fs]"
				(cd "$pkgdir" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)
			} >"$meta"
			: >"$srcdir/.packaged"
		fi
		;;
	*) die "unknown phase '$phase' (use f, b, p)" ;;
	esac
done

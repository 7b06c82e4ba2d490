# iglupkg.sh — iglu's package runner. Runs the phases of one Iglunix recipe the way
# Iglunix's iglupkg does: in the recipe's own directory, with srcdir=./src and
# pkgdir=./out/$pkgname.$pkgver, so recipes reach the files beside build.sh as ../x.
# iglu runs it in a sandbox on the host (fetch), in the farm's client container
# (toolchain phase) and in the build root (chroot phase), always with the tree seen
# through an overlay whose upper layer is the package's workspace. Needs mksh.
#
#   mksh iglupkg.sh PHASES        PHASES: any of f (fetch), b (build), p (package)
#
# Environment: IGLU_RECIPE (path of build.sh) and the runner's variables iglu sets
# (runnerEnv in src/recipes/read.ts): ARCH TRIPLE HOST_TRIPLE HOST_ARCH CC CXX AR RANLIB
# CFLAGS CXXFLAGS JOBS FOR_CROSS WITH_CROSS CROSS_EXTRA_* muon_base_args SOURCE_DATE_EPOCH.
# Stamps src/.fetched, src/.built and src/.packaged let a rerun skip finished phases;
# f starts over (wipes src/ and the pkgdir).
set -e
: "${IGLU_RECIPE:?IGLU_RECIPE is not set}"
MAKEFLAGS=-j${JOBS:-1}
export MAKEFLAGS

die() { print -r -- "iglupkg: $*" >&2; exit 1; }
say() { print -r -- "iglupkg: $*"; }

. "${0%/*}/recipe-env.sh"

cd "${IGLU_RECIPE%/*}"
recipedir=$PWD
. "$IGLU_RECIPE"
srcdir=$recipedir/src
pkgdir=$recipedir/out/$pkgname.$pkgver
export srcdir pkgdir

need() { typeset -f "$1" >/dev/null 2>&1 || die "$IGLU_RECIPE has no $1() function"; }

# meta_of NAME DIR DEPS SHLIBS: iglupkg's metadata, DIR/usr/share/iglupkg/NAME, with
# [pkg], [license], [backup] and [fs] sections.
meta_of() {
	typeset meta=$2/usr/share/iglupkg/$1
	mkdir -p "${meta%/*}"
	{
		print -r -- "[pkg]"
		print -r -- "name=$1"
		print -r -- "ver=$pkgver"
		print -r -- "rel=${pkgrel:-0}"
		print -r -- "deps=$3"
		print -r -- "shlibs=$4"
		print -r -- "[license]"
		if typeset -f license >/dev/null 2>&1; then (cd "$srcdir" && license); fi
		print -r -- "[backup]"
		if typeset -f backup >/dev/null 2>&1; then (cd "$srcdir" && backup); fi
		print -r -- "[fs]"
		(cd "$2" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)
	} >"$meta"
}

# move_listed LIST FROM TO: moves each path LIST names (relative to FROM, as find prints
# them) to the same place under TO; directories are made there and, once emptied,
# removed from FROM.
move_listed() {
	typeset p dirs=
	mkdir -p "$3"
	while IFS= read -r p; do
		p=${p#./}
		[ -n "$p" ] || continue
		case /$p/ in */../*) die "subpackage path $p leaves the package" ;; esac
		if [ -d "$2/$p" ] && [ ! -L "$2/$p" ]; then
			mkdir -p "$3/$p"
			dirs="$p
$dirs"
		elif [ -e "$2/$p" ] || [ -L "$2/$p" ]; then
			case $p in */*) mkdir -p "$3/${p%/*}" ;; esac
			mv "$2/$p" "$3/$p"
		fi
	done <"$1"
	print -r -- "$dirs" | while IFS= read -r p; do [ -z "$p" ] || rmdir "$2/$p" 2>/dev/null || :; done
}

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
			rm -rf "$recipedir/out"
			mkdir -p "$pkgdir"
			(set -e; cd "$srcdir"; package)
			# ext="dev:doc": package_dev() fills its own pkgdir, out/<pkgname>-dev.<pkgver>
			for e in $(print -r -- "${ext:-}" | tr ':' ' '); do
				# an ext entry without its function makes no subpackage, as iglupkg ignores it
				if ! typeset -f "package_$e" >/dev/null 2>&1; then
					say "$pkgname $pkgver: ext $e has no package_$e(): no subpackage $pkgname-$e"
					continue
				fi
				say "$pkgname $pkgver: package_$e"
				mkdir -p "$recipedir/out/$pkgname-$e.$pkgver"
				(set -e; pkgdir=$recipedir/out/$pkgname-$e.$pkgver; cd "$srcdir"; "package_$e")
				meta_of "$pkgname-$e" "$recipedir/out/$pkgname-$e.$pkgver" "" ""
			done
			# subpkgs="a b": function a runs in the main pkgdir and prints the paths that move
			# into subpackage a; it may set deps and shlibs for it
			main_deps=${deps:-} main_shlibs=${shlibs:-}
			for sub in ${subpkgs:-}; do
				need "$sub"
				list=$recipedir/out/.$sub.list
				(set -e; cd "$pkgdir"; deps= shlibs=; "$sub" >"$list"; print -r -- "$deps" >"$list.deps"; print -r -- "$shlibs" >"$list.shlibs")
				if [ "$sub" = "$pkgname" ]; then
					main_deps=$(cat "$list.deps") main_shlibs=$(cat "$list.shlibs")
				else
					say "$pkgname $pkgver: subpackage $sub"
					move_listed "$list" "$pkgdir" "$recipedir/out/$sub.$pkgver"
					meta_of "$sub" "$recipedir/out/$sub.$pkgver" "$(cat "$list.deps")" "$(cat "$list.shlibs")"
				fi
				rm -f "$list" "$list.deps" "$list.shlibs"
			done
			meta_of "$pkgname" "$pkgdir" "$main_deps" "$main_shlibs"
			: >"$srcdir/.packaged"
		fi
		;;
	*) die "unknown phase '$phase' (use f, b, p)" ;;
	esac
done

# recipe-env.sh — the helpers Iglunix's iglupkg defines for recipes (RECIPES.md,
# "Helpers the runner defines"), for mksh. Sourced by iglupkg.sh and by iglu's recipe
# reader; the variables they read (ARCH, TRIPLE, FOR_CROSS, WITH_CROSS, FOR_CROSS_DIR,
# CROSS_EXTRA_*) come from the environment iglu sets (runnerEnv in src/recipes/read.ts).

# fatal MSG: stop the recipe; warn MSG: say something and go on.
fatal() { print -r -- "ERROR: $*" >&2; exit 1; }
warn() { print -r -- "WARNING: $*" >&2; }

# auto_cross: PREFIX=/usr for a native build (FOR_CROSS empty), else FOR_CROSS_DIR; the
# cross flags only when WITH_CROSS names a target (iglu builds natively for the target).
auto_cross() {
	if [ -z "${FOR_CROSS:-}" ]; then PREFIX=/usr; else PREFIX=$FOR_CROSS_DIR; fi
	[ -n "${WITH_CROSS:-}" ] || return 0
	export CFLAGS="$CFLAGS $CROSS_EXTRA_CFLAGS"
	export CXXFLAGS="$CFLAGS $CROSS_EXTRA_CXXFLAGS"
	export LDFLAGS="$CROSS_EXTRA_LDFLAGS"
}

# `bad --gmake gmake ARGS` runs a GNU tool; without Iglunix's bad and gmake, the GNU
# tools of the build environment stand in (iglupkg stubs them the same way).
command -v bad >/dev/null 2>&1 || bad() {
	while [ $# -gt 0 ]; do case $1 in --*) shift ;; *) break ;; esac; done
	"$@"
}
command -v gmake >/dev/null 2>&1 || gmake() { make "$@"; }

import { CONFINE_FILE } from './compile-confine.js';

/** Where distccd's start script writes the guard, one copy per compiler name. */
export const GUARD_DIR = '/usr/local/lib/iglu-guard';

/** The guard's header and its checks of one argument each (sh functions). */
const GUARD_CHECKS = [
  '#!/bin/sh',
  '# iglu compile guard (see src/farm/compile-guard.ts): an allow-list of what a distributed compile needs',
  'refuse() { echo "iglu compile guard: refused $1 (distccd on this farm runs compiles only)" >&2; exit 111; }',
  'tmp=${TMPDIR:-/tmp}',
  // a path distccd made: in its temporary directory, one component of plain characters (the confinement's arguments are split on blanks)
  'ours() { case ${1##*/} in *[!A-Za-z0-9._-]*) return 1;; esac; case $1 in */../*|*/..) return 1;; "$tmp"/distccd_*|/tmp/distccd_*) case ${1#"$tmp"/} in */*) case ${1#/tmp/} in */*) return 1;; esac;; esac; return 0;; esac; return 1; }',
  'fopt() {',
  '  case $1 in -fno-*) return 0;; -fdebug-prefix-map=*|-ffile-prefix-map=*|-fmacro-prefix-map=*|-fcoverage-prefix-map=*) return 0;; esac',
  '  case $1 in *profile*|*plugin*|*module*|*trace*|*record*|*dump*|*crash*|*stat*|*coverage*|*cache*|*save*|*pch*|*build-session*) return 1;; esac',
  '  case $1 in *=*/*) return 1;; esac',
  '  case ${1%%=*} in -f*[!A-Za-z0-9+_-]*) return 1;; esac',
  '  return 0',
  '}',
  'mopt() { case $1 in *=*/*) return 1;; esac; case ${1%%=*} in -m*[!A-Za-z0-9+_.-]*) return 1;; esac; return 0; }',
  'xclang() { case $1 in -f*=*|-m*=*) return 1;; -f*|-m*|-target-feature|[+-][a-z0-9]*) case $1 in *[!A-Za-z0-9+_.-]*) return 1;; *load*|*plugin*) return 1;; esac; return 0;; esac; return 1; }',
  'llvmopt() { case $1 in *=*/*) return 1;; -*file|-*file=*|-*output|-*output=*|-*dir|-*dir=*|-*path|-*path=*) return 1;; -[A-Za-z][A-Za-z0-9_.-]*) case ${1%%=*} in *[!A-Za-z0-9_.-]*) return 1;; esac; return 0;; esac; return 1; }',
  'waopt() { old=$IFS; IFS=,; set -- ${1#-Wa,}; IFS=$old; for w in "$@"; do case $w in -*=*/*|*/*) return 1;; -[A-Za-z-]*) ;; *) return 1;; esac; case ${w%%=*} in *[!A-Za-z0-9_-]*|*-o|-o*|*MD*) return 1;; esac; done; return 0; }',
];

/** The guard's walk over the arguments, then the real compiler. */
const GUARD_WALK = [
  'want= mode= files= inputs=0',
  'for a in "$@"; do',
  '  if [ -n "$want" ]; then',
  '    case $want in',
  '      out) ours "$a" || refuse "$prev $a: a write outside its temporary files"; files="$files w:$a";;',
  '      read|name) ;;',
  '      lang) case $a in c|c++|cpp-output|c++-cpp-output|assembler|assembler-with-cpp|objective-c|objective-c++) ;; *) refuse "-x $a";; esac;;',
  '      target) case $a in *[!A-Za-z0-9_.-]*) refuse "-target $a";; esac;;',
  '      xclang) xclang "$a" || refuse "-Xclang $a";;',
  '      llvm) llvmopt "$a" || refuse "-mllvm $a";;',
  '    esac',
  '    want=; prev=$a; continue',
  '  fi',
  '  case $a in',
  '    -o|-MF) want=out;;',
  '    -MT|-MQ) want=name;;',
  '    -D|-U|-I|-isystem|-iquote|-idirafter|--sysroot|-isysroot|-include|-imacros) want=read;;',
  '    -x) want=lang;;',
  '    -target) want=target;;',
  '    -Xclang) want=xclang;;',
  '    -mllvm) want=llvm;;',
  '    -c|-S) mode=$a ;;',
  '    -w|-v|-pipe|-pg|-ansi|-pedantic|-pedantic-errors|-pthread|-nostdinc|-nostdinc++|-nostdlibinc|-ffreestanding|-MD|-MMD|-MP|-no-integrated-as|-integrated-as) ;;',
  // link-only options: unused by a compile (-c/-S, required below), as cmake's checks pass them
  '    -nodefaultlibs|-nostartfiles|-nostdlib|-nostdlib++|-static|-static-libgcc|-static-libstdc++|-static-pie|-shared|-shared-libgcc|-rdynamic|-pie|-no-pie|-s|-L?*|-l?*|-rtlib=*|--rtlib=*|-unwindlib=*|--unwindlib=*|-fuse-ld=*) ;;',
  '    -Xlinker|-L|-l) want=name;;',
  '    -O|-O[0-9sgz]|-Ofast|-std=*|-D?*|-U?*|-I?*|--sysroot=*|--gcc-toolchain=*|-isystem?*|-Qunused-arguments|-m32|-m64|--param=*) ;;',
  '    --target=*) case ${a#--target=} in *[!A-Za-z0-9_.-]*) refuse "$a";; esac;;',
  '    -Wl,*) ;;',
  '    -Wp,*) refuse "$a: preprocessor options do not belong on the farm";;',
  '    -Wa,*) waopt "$a" || refuse "$a";;',
  '    -W*) case $a in -W*[!A-Za-z0-9+_=.-]*) refuse "$a";; esac;;',
  '    -gsplit-dwarf*) refuse "$a: it writes a file beside the object";;',
  '    -g*) case $a in -g*[!A-Za-z0-9_=-]*) refuse "$a";; esac;;',
  '    -m*) mopt "$a" || refuse "$a";;',
  '    -f*) fopt "$a" || refuse "$a";;',
  '    -*) refuse "$a: not an option a distributed compile needs";;',
  '    *) ours "$a" || refuse "$a: an input outside its temporary files"; files="$files r:$a"; inputs=$((inputs + 1));;',
  '  esac',
  '  prev=$a',
  'done',
  '[ -z "$want" ] || refuse "$prev without its value"',
  '[ -n "$mode" ] || refuse "a command without -c or -S: distccd on this farm compiles, it never links"',
  '[ "$inputs" = 1 ] || refuse "$inputs inputs: a distributed compile has one"',
  // the compiler confined to its own files, with its limits (compile-confine.ts); $files unquoted: split on blanks
  `exec /usr/bin/perl ${CONFINE_FILE} $files -- "/usr/bin/\${0##*/}" "$@"`,
  '',
];

/**
 * The compile guard: the program distccd runs for every compile (each compiler's
 * DISTCC_CMDLIST entry names its copy, so distccd(1) maps the client's "clang" to it).
 * An allow-list of what a distributed compile needs — not a list of what was thought
 * dangerous: distcc sends preprocessed source and compiles it with `-c` (or `-S`) into
 * distccd's own temporary files (`$TMPDIR/distccd_*`, distccd(1)), so the command must
 * hold `-c` or `-S` (never a link), and every argument must be one of:
 *
 * - a file in distccd's temporary directory (the input), and `-o`/`-MF` naming one;
 * - a flag of a known shape: `-c -S -w -v -pipe -pg -ansi -pedantic* -pthread -static
 *   -shared -nostdinc* -nostdlib* -ffreestanding -MD -MMD -MP -no-integrated-as
 *   -integrated-as -Qunused-arguments`, link-only options a compile ignores (`-nodefaultlibs
 *   -nostdlib -static -shared -rdynamic -pie -L -l -Wl, -Xlinker -fuse-ld= -rtlib=
 *   -unwindlib=`: cmake's checks pass them), `-O*`, `-std=`, `--sysroot=`, `--gcc-toolchain=` (both
 *   only choose where headers are read from), `--param=`, `-W<warning>` (not `-Wp,`: preprocessor options run
 *   on the client), `-Wa,` items that are plain options, `-D -U -I` and friends
 *   (`-isystem -iquote -idirafter --sysroot -isysroot -include -imacros`: they only
 *   read), `-x LANG`, `-target T`/`--target=T`, `-m<option>[=value]`, `-g<option>` but
 *   `-gsplit-dwarf`, `-f<option>[=value]` whose value holds no `/` (or a `-f…-prefix-map=`)
 *   and whose name is not one that writes files or loads code (profile, plugin, modules,
 *   trace, record, dump, crash, stat, coverage, cache, save, pch, build-session);
 *   every `-fno-…`;
 * - `-Xclang X` where X is `-f…`/`-m…` without `=`, or `-target-feature` then `+feat`/`-feat`;
 * - `-mllvm X` where X is `-name[=value]` without `/` and its name does not end in
 *   file, output, dir or path (LLVM's `-info-output-file`, `-stats-file` and kin).
 *
 * Everything else — clang's documented writers (`--serialize-diagnostics`, `-MJ`,
 * `-save-temps`, `-save-stats`, `-ftime-trace`, `-fsave-optimization-record`,
 * `-fcrash-diagnostics-dir=`, `-fproc-stat-report=`, `-gsplit-dwarf`, `-Xclang
 * -stats-file=`, `-mllvm -info-output-file=`, `-fmodules-cache-path=`), plugins, `-B`,
 * `-specs`, response files, `--output`, joined `-o/path`, `..` in a temporary path, any
 * option not listed — is refused: exit 111 with a message on stderr (distccd passes both
 * to the client, whose fallback compiles locally — and which then backs off that host for
 * DISTCC_BACKOFF_PERIOD, 60 s by default: a flag refused by mistake costs speed, never
 * a build). The command must name exactly one input. Then it execs /usr/bin/<compiler>
 * through the confinement (compile-confine.ts): the compile's resource limits, and
 * Landlock letting it read only the compiler and its input and write only its outputs —
 * what the assembler's `.incbin` and `.include` in the source could read otherwise.
 * A POSIX sh script. Pure.
 */
export function compileGuardScript(): string {
  return [...GUARD_CHECKS, ...GUARD_WALK].join('\n');
}

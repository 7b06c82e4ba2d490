/** Where distccd's start script writes the guard, one copy per compiler name. */
export const GUARD_DIR = '/usr/local/lib/iglu-guard';

/**
 * The compile guard: the program distccd runs for every compile (each compiler's
 * DISTCC_CMDLIST entry names its copy, so distccd(1) maps the client's "clang" to it).
 * It refuses what turns a compile into running code or writing files on the farm's node —
 * plugin loading (`-Xclang -load`/`-plugin`/`-add-plugin`, `-fplugin*`, `-fpass-plugin*`),
 * `-save-temps`, `-specs`, `-B` (tool prefixes), response files (`@file`, which could hide
 * the rest), crash/trace/profile outputs — and an `-o` or `-MF` outside distccd's own
 * temporary files (`$TMPDIR/distccd_*`, distccd(1)), then execs /usr/bin/<compiler>.
 * distcc's own check stops only `-fplugin=` (distcc 3.4 NEWS). Exit 111 with a message on
 * stderr (distccd passes both to the client) when it refuses. A POSIX sh script. Pure.
 */
export function compileGuardScript(): string {
  return [
    '#!/bin/sh',
    '# iglu compile guard (see src/farm/compile-guard.ts): distccd serves compiles only',
    'refuse() { echo "iglu compile guard: refused $1 (distccd on this farm runs compiles only)" >&2; exit 111; }',
    'tmp=${TMPDIR:-/tmp}',
    'prev=',
    'for a in "$@"; do',
    '  case $prev in',
    '    -Xclang) case $a in -load|-load=*|-plugin|-plugin=*|-add-plugin|-add-plugin=*|-plugin-arg-*|-fplugin*|-fpass-plugin*) refuse "-Xclang $a";; esac ;;',
    '    -o|-MF) case $a in "$tmp"/distccd_*|/tmp/distccd_*) ;; *) refuse "$prev $a: a write outside its temporary directory";; esac ;;',
    '  esac',
    '  case $a in',
    '    -fplugin*|-fpass-plugin*|--plugin*|-save-temps*|--save-temps*|-specs*|--specs*|-B*|--prefix*|@*|-save-stats*|-ftime-trace*|-MJ*|-fcrash-diagnostics*|-fprofile-generate*|-fprofile-instr-generate*|-fprofile-dir*|-fdebug-dump*|-fdump-*) refuse "$a" ;;',
    '    -o?*|-MF?*) refuse "$a: joined output paths are not accepted" ;;',
    '  esac',
    '  prev=$a',
    'done',
    'exec "/usr/bin/${0##*/}" "$@"',
    '',
  ].join('\n');
}

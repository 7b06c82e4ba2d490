/**
 * What bounds one compile on a distccd task, after the compile guard (compile-guard.ts)
 * accepted its arguments: the guard execs the compiler through this perl script, which
 * sets the compile's resource limits and confines its file access with Landlock, then
 * execs the compiler.
 *
 * Why Landlock, and not a refusal of `.incbin` or a mount namespace: the assembler runs on
 * the task for every compile, inline `asm` in ordinary C as much as `-x assembler` input,
 * and its directives that read files (`.incbin`, `.include`) can be spelled through
 * string escapes, string concatenation and macros (`.macro m a; .\a "f"; .endm`), so no
 * check of the source can tell them apart; refusing every `asm` would refuse musl. A mount
 * namespace needs CAP_SYS_ADMIN and no AppArmor or seccomp confinement in the task, which a
 * swarm service cannot have on Engine API 1.41 (Docker 20.10: no Privileges.Seccomp or
 * AppArmor in a ContainerSpec), and would give the daemon facing the network more power.
 * Landlock (landlock(7), Linux 5.13+) needs no privilege: an unprivileged process restricts
 * itself and every program it execs, whatever they parse. The compile may then read and
 * run only /usr (the compiler, its libraries, the image's headers), /etc/ld.so.cache,
 * /etc/debian_version and /dev/null, read its one input and write its outputs (the files
 * the guard names: distccd's temporary files); it may not create, list or remove anything,
 * nor reach /etc/hostname, /etc/passwd, /proc, /sys, /dev/zero, the other jobs' files or,
 * from Landlock ABI 4, a TCP port. Measured with clang 14: `.incbin "/etc/hostname"` →
 * "Could not find incbin file"; a normal compile's object is byte for byte the unconfined
 * one's (clang writes its output directly when it cannot make a temporary file beside it).
 * A kernel without Landlock (or a seccomp profile refusing its calls) refuses every compile
 * (exit 111, the message says why): the farm's canary check then leaves the task out.
 *
 * The limits are per compile (setrlimit(2), kept across exec): address space (a compile
 * that would fill the node's memory fails with "LLVM ERROR: out of memory" instead),
 * file size (an object of `.fill` does not fill the node's disk) and CPU time.
 */

/** Where distccd's start script writes the script (GUARD_DIR of compile-guard.ts; not a compiler name). */
export const CONFINE_FILE = '/usr/local/lib/iglu-guard/.confine';

/** One compile's resource limits on a task. */
export interface CompileLimits {
  /** RLIMIT_AS, MiB: clang's largest translation units stay under 2 GiB. */
  addressSpaceMiB: number;
  /** RLIMIT_FSIZE, MiB: the largest file it may write (its object). */
  fileSizeMiB: number;
  /** RLIMIT_CPU, seconds. */
  cpuSeconds: number;
}

/** The limits every compile on a task gets. */
export const COMPILE_LIMITS: CompileLimits = { addressSpaceMiB: 4096, fileSizeMiB: 2048, cpuSeconds: 1800 };

/**
 * The confinement script (perl, the farm image's; no module but Config). Arguments:
 * `r:FILE`… (read), `w:FILE`… (write; made when missing), `--`, then the program and its
 * arguments. Landlock's rights are those of landlock(7) by ABI version: the script handles
 * every right its kernel knows (v1 to v7), so what it does not allow is refused.
 * Syscall numbers: the Landlock calls are 444–446 on every architecture; prctl and
 * setrlimit by architecture (x86_64, aarch64). Pure.
 */
export function compileConfineScript(limits: CompileLimits = COMPILE_LIMITS): string {
  const MiB = 2 ** 20;
  return [
    '# iglu compile confinement (src/farm/compile-confine.ts)',
    'use strict; use Config;',
    'sub refuse { print STDERR "iglu compile guard: refused: $_[0]\\n"; exit 111; }',
    'my %nr = (x86_64 => [157, 160], aarch64 => [167, 164]);',
    'my ($arch) = $Config{archname} =~ /^(x86_64|aarch64)/ or refuse("no syscall numbers for $Config{archname}");',
    'my ($PRCTL, $SETRLIMIT) = @{ $nr{$arch} };',
    // RLIMIT_CPU 0, RLIMIT_FSIZE 1, RLIMIT_AS 9 (getrlimit(2)); struct rlimit: two unsigned longs
    `my %lim = (0 => ${limits.cpuSeconds}, 1 => ${limits.fileSizeMiB * MiB}, 9 => ${limits.addressSpaceMiB * MiB});`,
    'for my $r (sort keys %lim) { syscall($SETRLIMIT, $r + 0, pack("QQ", $lim{$r}, $lim{$r})) == 0 or refuse("setrlimit $r: $!"); }',
    // LANDLOCK_CREATE_RULESET_VERSION: the ABI version
    'my $abi = syscall(444, 0, 0, 1);',
    'refuse("this node cannot confine a compile: no Landlock ($!); see src/farm/compile-confine.ts") if $abi < 1;',
    'my $fs = $abi >= 5 ? 0xFFFF : $abi >= 3 ? 0x7FFF : $abi >= 2 ? 0x3FFF : 0x1FFF;',
    // struct landlock_ruleset_attr: handled_access_fs, handled_access_net (v4: TCP bind, connect), scoped (v6)
    'my $attr = $abi >= 6 ? pack("QQQ", $fs, 3, 3) : $abi >= 4 ? pack("QQ", $fs, 3) : pack("Q", $fs);',
    'my $ruleset = syscall(444, $attr, length($attr), 0);',
    'refuse("landlock_create_ruleset: $!") if $ruleset < 0;',
    // EXECUTE, WRITE_FILE, READ_FILE, READ_DIR, TRUNCATE; O_PATH|O_CLOEXEC
    'my ($X, $W, $R, $D, $T) = (1, 2, 4, 8, 16384);',
    'sub allow {',
    '  my ($path, $access) = @_;',
    '  sysopen(my $fh, $path, 010000000 | 02000000) or refuse("$path: $!");',
    // struct landlock_path_beneath_attr (packed): allowed_access, parent_fd; LANDLOCK_RULE_PATH_BENEATH 1
    '  syscall(445, $ruleset, 1, pack("Ql", $access & $fs, fileno $fh), 0) == 0 or refuse("landlock_add_rule $path: $!");',
    '}',
    'allow("/usr", $X | $R | $D);',
    'allow($_, $R) for grep { -e } ("/etc/ld.so.cache", "/etc/debian_version");',
    'allow("/dev/null", $R | $W | $T);',
    'while (@ARGV && $ARGV[0] ne "--") {',
    '  my ($how, $file) = shift(@ARGV) =~ /^([rw]):(.+)$/s or refuse("a bad argument of the confinement");',
    // O_WRONLY|O_CREAT|O_EXCL
    '  if ($how eq "w" && !-e $file) { sysopen(my $fh, $file, 01 | 0100 | 0200, 0600) or refuse("$file: $!"); }',
    '  allow($file, $how eq "r" ? $R : $W | $T);',
    '}',
    'shift @ARGV;',
    // PR_SET_NO_NEW_PRIVS: landlock_restrict_self needs it without CAP_SYS_ADMIN
    'syscall($PRCTL, 38, 1, 0, 0, 0) == 0 or refuse("no_new_privs: $!");',
    'syscall(446, $ruleset, 0) == 0 or refuse("landlock_restrict_self: $!");',
    'exec { $ARGV[0] } @ARGV or refuse("$ARGV[0]: $!");',
    '',
  ].join('\n');
}

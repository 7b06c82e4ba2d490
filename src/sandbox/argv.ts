import path from 'node:path';
import { IgluError } from '../errors.js';
import { prlimitArgs, type BuildLimits } from './limits.js';

/**
 * The host uid and gid every sandbox runs as when iglu runs as root: root inside the
 * sandbox's user namespace is this id outside (bwrap maps only it), so recipe code owns
 * nothing of the host's. Below the 100000 where Debian's subordinate id ranges start
 * (subuid(5)); no account needs to exist for it.
 */
export const SANDBOX_ID = 99_999;

/** Where sandbox-enter.sh stages the sandbox's sources, in its private mount namespace only. */
export const STAGE = '/run/iglu-sandbox';

/** A host directory shown inside the sandbox. */
export interface SandboxBind {
  host: string;
  /** Absolute, normalised path inside the sandbox. */
  inside: string;
  readOnly: boolean;
  /**
   * Show `host` as the read-only lower layer of an overlay (overlayfs, mounted as root
   * by sandbox-enter.sh) whose upper layer is `<overlay>/upper`, with `<overlay>/work` as
   * overlayfs' work directory: writes land in the upper layer, never in `host`.
   * Needs root (`asRoot`); `readOnly` must be false.
   */
  overlay?: string;
}

/** What sandbox-enter.sh stages: a directory or file bound as it is, or an overlay over a lower directory. */
export type SandboxSource = string | { lower: string; layers: string };

/** What one sandboxed command sees and runs. */
export interface SandboxSpec {
  /** `/`: a directory (the build root), read-only; or "host": only the host's /usr and /etc, read-only. */
  root: { dir: string } | 'host';
  /** Directories shown inside; their mount points must exist in a `dir` root. */
  binds: SandboxBind[];
  /** Empty, writable tmpfs directories besides /tmp (for example HOME). */
  tmpfs?: string[];
  argv: string[];
  /** The whole environment inside; nothing of iglu's own leaks in. */
  env: Record<string, string>;
  /** Working directory inside. */
  cwd?: string;
  hostname?: string;
  /**
   * Kill the sandbox when its parent dies (default true). False under `docker exec`, where
   * the parent is runc, which exits right after starting it; the container's removal is the bound there.
   */
  dieWithParent?: boolean;
  /** The command talks to the user's terminal: no new session (bwrap --new-session stops TIOCSTI otherwise). */
  terminal?: boolean;
  /** What a package's build may use (sandbox/limits.ts): /tmp's size, and its processes' number and memory (prlimit). */
  limits?: Pick<BuildLimits, 'processes' | 'memoryMiB' | 'tmpMiB'>;
}

/** Paths bwrap mounts itself; a bind may not hide them. */
const SYSTEM = ['/proc', '/dev', '/tmp'];

/**
 * Checks a bind's target: absolute, normalised, not `/` and not over /proc, /dev or /tmp. Pure.
 * @throws Error naming the target
 */
export function checkBindTarget(inside: string): void {
  if (!path.isAbsolute(inside) || path.normalize(inside) !== inside) throw new Error(`sandbox bind target ${inside} must be a normalised absolute path`);
  if (inside === '/' || SYSTEM.some((s) => inside === s || inside.startsWith(`${s}/`)))
    throw new Error(`sandbox bind target ${inside} would hide ${inside === '/' ? 'the root' : 'a system mount'}`);
}

/**
 * The bubblewrap (bwrap(1), 0.8) arguments for `spec`, with `sources[i]` standing for the
 * i-th host directory (the root directory first, then the binds): every namespace new
 * (user, mount, PID, IPC, UTS, cgroup and network: no network but lo, ever — distcc goes through a socket: farm/distcc-socket.ts), root inside
 * mapped to the calling uid, pivot_root into a fresh tmpfs (bwrap never uses chroot, so
 * nothing outside the new root stays reachable; /proc/1 is the sandbox's own), every
 * capability dropped, no_new_privs (bwrap always sets it), no user namespace of its own
 * (`--disable-userns`: `unshare -U` fails), killed with its parent (`--die-with-parent`),
 * the environment cleared. Pure.
 */
export function bwrapArgs(spec: SandboxSpec, sources: string[]): string[] {
  // --disable-userns (bwrap 0.8): the sandbox's processes cannot make user namespaces of their own,
  // which would give them every capability there (mount, netfilter: the kernel's attack surface)
  const args = [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    ...(spec.dieWithParent === false ? [] : ['--die-with-parent']),
    ...(spec.terminal ? [] : ['--new-session']),
  ];
  args.push('--uid', '0', '--gid', '0', '--hostname', spec.hostname ?? 'iglu-sandbox', '--cap-drop', 'ALL');
  let i = 0;
  if (spec.root === 'host') {
    for (const d of ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/etc']) args.push('--ro-bind-try', d, d);
  } else {
    args.push('--ro-bind', sources[i++]!, '/');
  }
  args.push('--proc', '/proc', '--dev', '/dev', ...(spec.limits ? ['--size', String(spec.limits.tmpMiB * 1024 * 1024)] : []), '--tmpfs', '/tmp');
  for (const t of spec.tmpfs ?? []) args.push('--tmpfs', t);
  for (const b of spec.binds) {
    checkBindTarget(b.inside);
    args.push(b.readOnly ? '--ro-bind' : '--bind', sources[i++]!, b.inside);
  }
  if (spec.cwd) args.push('--chdir', spec.cwd);
  args.push('--clearenv');
  for (const [k, v] of Object.entries(spec.env)) args.push('--setenv', k, v);
  return [...args, '--', ...spec.argv];
}

/** The host directories a spec shows, in bwrapArgs' order (the root directory first). Pure. */
export function sandboxSources(spec: SandboxSpec): SandboxSource[] {
  return [...(spec.root === 'host' ? [] : [spec.root.dir]), ...spec.binds.map((b) => (b.overlay ? { lower: b.host, layers: b.overlay } : b.host))];
}

/** sandbox-enter.sh's words for the sources: `b PATH` or `o LOWER LAYERS` each. Pure. */
export function stageWords(sources: SandboxSource[]): string[] {
  return sources.flatMap((s) => (typeof s === 'string' ? ['b', s] : ['o', s.lower, s.layers]));
}

/**
 * The whole argv that runs `spec`. As root (`asRoot`): unshare(1) a private mount
 * namespace, where `sandbox-enter.sh` (in `scripts`) stages the sources under STAGE and
 * drops to SANDBOX_ID before exec'ing bwrap; overlay binds are mounted there. Otherwise bwrap runs directly as the calling
 * user (root inside is that user). Pure.
 */
export function sandboxArgv(spec: SandboxSpec, opts: { asRoot: boolean; scripts: string; id?: number }): string[] {
  const sources = sandboxSources(spec);
  if (spec.binds.some((b) => b.overlay && b.readOnly)) throw new Error('an overlay bind is writable: readOnly must be false');
  // the limits are inherited by the sandbox's every process (setrlimit(2)); with the host's
  // tools (root "host") prlimit runs inside the sandbox's user namespace, where RLIMIT_NPROC
  // counts that sandbox's processes alone, not every sandbox's of the same uid
  const inside = spec.limits && spec.root === 'host' ? { ...spec, argv: [...prlimitArgs(spec.limits), ...spec.argv] } : undefined;
  const limited = spec.limits && !inside ? prlimitArgs(spec.limits) : [];
  const run = inside ?? spec;
  if (!opts.asRoot) {
    if (sources.some((s) => typeof s !== 'string')) throw new IgluError('an overlay view of the recipe tree needs root', { hint: 'run iglu as root (sudo)' });
    return [...limited, 'bwrap', ...bwrapArgs(run, sources as string[])];
  }
  const id = String(opts.id ?? SANDBOX_ID);
  const staged = sources.map((_, i) => `${STAGE}/${i}`);
  return [
    ...limited,
    'unshare',
    '--mount',
    '--propagation',
    'private',
    '--',
    'sh',
    path.join(opts.scripts, 'sandbox-enter.sh'),
    STAGE,
    id,
    id,
    String(sources.length),
    ...stageWords(sources),
    '--',
    ...bwrapArgs(run, staged),
  ];
}

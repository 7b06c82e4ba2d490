import { checkBindTarget, type SandboxBind } from '../sandbox/argv.js';

/** One mount iglu makes in the build root's private mount namespace. */
export interface RootMount {
  /** Filesystem type for mount(8) -t, or "bind". */
  type: string;
  /** Device/source for mount(8), or the host path a bind mount shows. */
  source: string;
  /** Path inside the build root, absolute ("/proc"). */
  target: string;
  /** mount(8) -o options; "ro" or "rw" for a bind mount. */
  options: string;
}

/** A host directory shown inside the build root: a sandbox bind (sandbox/argv.ts). */
export type Bind = SandboxBind;

/**
 * The mounts of one build root command, as recorded in chroot/state.json, in the order
 * bwrap makes them in the sandbox's own mount namespace (sandbox/argv.ts): proc(5), a
 * /dev with the standard device nodes and a private devpts, tmpfs /tmp, /root and
 * /var/tmp, then `binds`. Pure.
 * @throws Error when a bind's target is not absolute or would hide one of the above
 */
export function mountPlan(binds: Bind[]): RootMount[] {
  const fixed: RootMount[] = [
    { type: 'proc', source: 'proc', target: '/proc', options: 'nosuid,nodev,noexec' },
    { type: 'devtmpfs', source: 'bwrap', target: '/dev', options: 'nosuid' },
    { type: 'tmpfs', source: 'tmp', target: '/tmp', options: 'nosuid,nodev' },
    { type: 'tmpfs', source: 'root', target: '/root', options: 'nosuid,nodev' },
    { type: 'tmpfs', source: 'var-tmp', target: '/var/tmp', options: 'nosuid,nodev' },
  ];
  for (const b of binds) {
    checkBindTarget(b.inside);
    if (fixed.some((m) => b.inside === m.target || b.inside.startsWith(`${m.target}/`))) throw new Error(`bind target ${b.inside} would hide a system mount`);
  }
  return [...fixed, ...binds.map((b) => (b.overlay ? { type: 'overlay', source: `${b.host} under ${b.overlay}/upper`, target: b.inside, options: 'rw' } : { type: 'bind', source: b.host, target: b.inside, options: b.readOnly ? 'ro' : 'rw' }))];
}

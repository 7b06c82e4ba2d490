import path from 'node:path';

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

/** A host directory shown inside the build root. */
export interface Bind {
  host: string;
  /** Absolute path inside the build root. */
  inside: string;
  readOnly: boolean;
}

/**
 * The mounts of one command in the build root, in the order they are made: proc(5),
 * sysfs(5) read-only, a tmpfs /dev (run-in-root.sh adds the device nodes) with a private
 * devpts instance (devpts "newinstance", see mount(8)), a tmpfs /tmp, then `binds`. Pure.
 * @throws Error when a bind's target is not absolute or would hide one of the above
 */
export function mountPlan(binds: Bind[]): RootMount[] {
  const fixed: RootMount[] = [
    { type: 'proc', source: 'proc', target: '/proc', options: 'nosuid,nodev,noexec' },
    { type: 'sysfs', source: 'sysfs', target: '/sys', options: 'ro,nosuid,nodev,noexec' },
    { type: 'tmpfs', source: 'dev', target: '/dev', options: 'nosuid,mode=0755,size=1m' },
    { type: 'devpts', source: 'devpts', target: '/dev/pts', options: 'newinstance,ptmxmode=0666,mode=0620' },
    { type: 'tmpfs', source: 'tmp', target: '/tmp', options: 'nosuid,nodev,mode=1777' },
  ];
  for (const b of binds) {
    if (!path.isAbsolute(b.inside) || path.normalize(b.inside) !== b.inside) throw new Error(`bind target ${b.inside} must be a normalised absolute path`);
    if (fixed.some((m) => b.inside === m.target || b.inside.startsWith(`${m.target}/`)) || b.inside === '/') throw new Error(`bind target ${b.inside} would hide ${b.inside === '/' ? 'the root' : 'a system mount'}`);
    if (/\s/.test(b.host) || /\s/.test(b.inside)) throw new Error(`bind paths may not contain white space: ${b.host} → ${b.inside}`);
  }
  return [...fixed, ...binds.map((b) => ({ type: 'bind', source: b.host, target: b.inside, options: b.readOnly ? 'ro' : 'rw' }))];
}

/** The MOUNTS_FILE lines run-in-root.sh reads: "TYPE SOURCE TARGET OPTIONS". Pure. */
export function mountsFile(mounts: RootMount[]): string {
  return mounts.map((m) => `${m.type} ${m.source} ${m.target} ${m.options}\n`).join('');
}

/**
 * Mount points from /proc/self/mountinfo (proc(5): field 5 is the mount point, with
 * space, tab, newline and backslash escaped as octal). Pure.
 */
export function mountPoints(mountinfo: string): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field) points.push(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return points;
}

/** The mount points at or below `dir`, deepest first (the order to unmount them). Pure. */
export function mountsUnder(points: string[], dir: string): string[] {
  const root = path.resolve(dir);
  return [...new Set(points.filter((p) => p === root || p.startsWith(`${root}/`)))].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}

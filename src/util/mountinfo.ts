import path from 'node:path';

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
  return [...new Set(points.filter((p) => p === root || p.startsWith(`${root}/`)))].sort(
    (a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a),
  );
}

/**
 * The inodes in use in an ext2/3/4 filesystem, from dumpe2fs(8)'s output: its header's
 * "Inodes per group:" and, per group, "Group N: …" followed by "Free inodes: a-b, c, …".
 * An inode of group N is in use when it lies in N·ipg+1 … (N+1)·ipg and is not listed
 * free. Reserved inodes 1 and 3–10 (ext4's first non-reserved inode is 11; inode 2 is
 * the root directory) are left out. Pure.
 * @throws Error when the output has no "Inodes per group" or no group
 */
export function inodesInUse(dumpe2fs: string): number[] {
  const ipg = Number(/^Inodes per group:\s+(\d+)/m.exec(dumpe2fs)?.[1]);
  if (!ipg) throw new Error('dumpe2fs printed no "Inodes per group"');
  const used: number[] = [];
  let group = -1;
  let groups = 0;
  for (const line of dumpe2fs.split('\n')) {
    const g = /^Group (\d+):/.exec(line);
    if (g) {
      group = Number(g[1]);
      groups++;
      continue;
    }
    const free = /^\s+Free inodes:\s*(.*)$/.exec(line);
    if (!free || group < 0) continue;
    const isFree = new Set<number>();
    for (const part of free[1]!
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [a, b = a] = part.split('-').map(Number);
      for (let i = a!; i <= b!; i++) isFree.add(i);
    }
    for (let i = group * ipg + 1; i <= (group + 1) * ipg; i++) if (!isFree.has(i) && (i === 2 || i >= 11)) used.push(i);
    group = -1;
  }
  if (!groups) throw new Error('dumpe2fs printed no groups');
  return used;
}

/**
 * debugfs(8) commands giving each inode owner 0:0 and all four times `epoch`. Inodes are
 * named by number (`<N>`), never by file name, so nothing a package names its files can
 * be read as a debugfs command. Pure.
 */
export function normaliseInodeCommands(inodes: number[], epoch: number): string {
  const t = `@${epoch}`;
  return (
    inodes
      .map((i) =>
        [`sif <${i}> uid 0`, `sif <${i}> gid 0`, `sif <${i}> atime ${t}`, `sif <${i}> mtime ${t}`, `sif <${i}> ctime ${t}`, `sif <${i}> crtime ${t}`].join(
          '\n',
        ),
      )
      .join('\n') + '\n'
  );
}

import { lstat, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { IgluError } from '../errors.js';
import { runSandboxed } from '../sandbox/run.js';
import { noLinksBelow } from '../util/safe-fs.js';

/**
 * Whether a line of `busybox --list-full` is an applet path: at most three components
 * (`usr/sbin/x`), each a plain name — letters, digits and `._+-` — or the applets `[`
 * and `[[`. Pure.
 */
export function isAppletPath(rel: string): boolean {
  const parts = rel.split('/');
  return parts.length <= 3 && parts.every((p) => p === '[' || p === '[[' || /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(p));
}

/**
 * Links busybox's applets (`busybox --list-full`: "bin/ls", "usr/bin/awk", …) to
 * /bin/busybox where no other package put a file, as `busybox --install -s` would inside
 * the guest. busybox runs in a sandbox whose root is the staged tree (read-only, no
 * network), never on the host; each line it prints must be a plain relative path of at
 * most three components, and links are made only below real directories of the stage.
 * @returns how many links were made (0 without busybox in the root)
 * @throws IgluError for a line that is not such a path
 */
export async function linkBusyboxApplets(stage: string): Promise<number> {
  const busybox = path.join(stage, 'bin/busybox');
  if (!(await lstat(busybox).catch(() => undefined))?.isFile()) return 0;
  const list = await runSandboxed(
    { root: { dir: stage }, binds: [], argv: ['/bin/busybox', '--list-full'], env: { PATH: '/bin:/usr/bin' }, hostname: 'iglu-image' },
    'capture',
    { timeoutMs: 10_000 },
  );
  if (list.exitCode !== 0) return 0;
  let made = 0;
  for (const rel of list.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort()) {
    if (!isAppletPath(rel))
      throw new IgluError(`busybox --list-full printed ${JSON.stringify(rel.slice(0, 80))}, not an applet path`, {
        hint: 'the busybox package is not a real busybox: rebuild it',
      });
    if (await lexists(path.join(stage, rel))) continue;
    const dir = await noLinksBelow(stage, path.dirname(rel), true);
    await mkdir(dir, { recursive: true });
    await symlink('/bin/busybox', path.join(dir, path.basename(rel)));
    made++;
  }
  return made;
}

async function lexists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

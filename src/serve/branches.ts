import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, IgluError } from '../errors.js';

/** Directories a branch tree may not be, nor lie inside: the system's configuration, kernel views, devices, boot files, root's home, run-time state. */
const SYSTEM_DIRS = ['/etc', '/proc', '/sys', '/dev', '/boot', '/root', '/run'];

/**
 * Checks serve.branches before the service takes work, since each task's tree is a copy
 * of its branch's directory read as root and handed to recipes: each must be a directory
 * (resolved through symbolic links, relative to the current directory), neither `/` nor
 * one right under it (`/home`, `/var`, `/tmp` hold far more than recipes), nor inside
 * /etc, /proc, /sys, /dev, /boot, /root or /run; owned by root or the service's user, and
 * not writable by others (who could change what every task builds).
 * @returns the branches with their real paths, which the service then uses (a symbolic
 *   link changed later does not move a branch)
 * @throws IgluError (exit 2) naming `serve.branches.NAME` and the rule it breaks
 */
export async function checkBranches(branches: Record<string, string>, uid = process.getuid?.() ?? 0): Promise<Record<string, string>> {
  const real: Record<string, string> = {};
  for (const [name, dir] of Object.entries(branches)) {
    const refuse = (why: string) =>
      new IgluError(`serve.branches.${name}: ${dir} ${why}`, {
        hint: 'name a recipe tree of its own (a directory of <category>/<pkg>/build.sh owned by root or the service user), not a system directory',
        exitCode: ExitCode.usage,
      });
    const at = await realpath(path.resolve(dir)).catch(() => undefined);
    const st = at ? await stat(at) : undefined;
    if (!at || !st?.isDirectory()) throw refuse('is not a directory');
    const shown = at === path.resolve(dir) ? '' : ` (${at})`;
    const system = SYSTEM_DIRS.find((s) => at === s || at.startsWith(`${s}/`));
    if (system) throw refuse(`${shown} is inside ${system}, a system directory`.trimStart());
    if (path.dirname(at) === '/') throw refuse(`${shown} is / or a directory right under it`.trimStart());
    if (st.uid !== 0 && st.uid !== uid) throw refuse(`${shown} is owned by uid ${st.uid}, neither root nor the service's user`.trimStart());
    if (st.mode & 0o002) throw refuse(`${shown} is writable by every user`.trimStart());
    real[name] = at;
  }
  return real;
}

import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_ROOT } from '../layout/package-root.js';

/** The tools a recipe's fetch() may call that the source cache answers. */
export const SHIMMED_TOOLS = ['curl', 'wget', 'git'] as const;

/** shim.js, tsc's output of src/sources/shim.ts, on the host (the bundled CLI ships tsc's output too). */
export const SHIM_JS = path.join(PACKAGE_ROOT, 'dist/src/sources/shim.js');

/**
 * Writes `curl`, `wget` and `git` shims into `dir`: each one execs `node` with `shim`
 * (paths as the fetch sandbox sees them) `--jitless` (and no WebAssembly, which it excludes): V8 otherwise reserves about 1 GiB of
 * address space for its code range, and fetch() runs under limits.memoryMiB (RLIMIT_AS),
 * where node would not start below that (with it, 256 MiB is enough). Put `dir` first on PATH.
 * @returns the directory
 */
export async function writeShims(dir: string, node = process.execPath, shim = SHIM_JS): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const tool of SHIMMED_TOOLS) {
    const file = path.join(dir, tool);
    await rm(file, { force: true });
    await writeFile(
      file,
      `#!/bin/sh\n# iglu source cache shim (see src/sources/shim.ts)\nexec ${quote(node)} --jitless --no-expose-wasm ${quote(shim)} ${tool} "$@"\n`,
    );
    await chmod(file, 0o755);
  }
  return dir;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The tools a recipe's fetch() may call that the source cache answers. */
export const SHIMMED_TOOLS = ['curl', 'wget', 'git'] as const;

/**
 * Writes `curl`, `wget` and `git` shims into `dir`: each one execs this Node with
 * shim.js (the compiled sibling of this file). Put `dir` first on PATH.
 * @returns the directory
 */
export async function writeShims(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const shim = fileURLToPath(new URL('./shim.js', import.meta.url));
  for (const tool of SHIMMED_TOOLS) {
    const file = path.join(dir, tool);
    await writeFile(file, `#!/bin/sh\n# iglu source cache shim (see src/sources/shim.ts)\nexec ${quote(process.execPath)} ${quote(shim)} ${tool} "$@"\n`);
    await chmod(file, 0o755);
  }
  return dir;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

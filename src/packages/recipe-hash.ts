import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * SHA-256 over a recipe's directory: build.sh and every file beside it (patches, config
 * fragments), by sorted relative path and content. A change to any of them changes it.
 * @param recipeFile path of build.sh
 */
export async function recipeHash(recipeFile: string): Promise<string> {
  const dir = path.dirname(recipeFile);
  const entries = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
  const hash = createHash('sha256');
  for (const rel of entries) {
    const content = await readFile(path.join(dir, rel));
    hash.update(`${rel}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

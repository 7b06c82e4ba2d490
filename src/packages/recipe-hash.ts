import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CHROOT_SCRIPTS } from '../layout/in-root.js';

/**
 * SHA-256 over a directory's regular files, by sorted relative path, length and content
 * (symbolic links and other special files are left out). A change to any file changes it.
 * @param dir a host directory
 * @throws the file system's error when `dir` cannot be read
 */
export async function directoryHash(dir: string): Promise<string> {
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

/**
 * SHA-256 over a recipe's directory: build.sh and every file beside it (patches, config
 * fragments), by sorted relative path and content. A change to any of them changes it.
 * @param recipeFile path of build.sh
 */
export function recipeHash(recipeFile: string): Promise<string> {
  return directoryHash(path.dirname(recipeFile));
}

let runner: Promise<string> | undefined;

/**
 * The identity of iglu's package runner: sha256 over its scripts (chroot/: iglupkg.sh,
 * recipe-env.sh, sandbox-enter.sh, spread-job.sh, target-bin/), read once per process.
 * Part of every build's base (pipeline/package-build.ts), so a change to how recipes are
 * run rebuilds what they built.
 */
export function runnerIdentity(): Promise<string> {
  runner ??= directoryHash(CHROOT_SCRIPTS);
  return runner;
}

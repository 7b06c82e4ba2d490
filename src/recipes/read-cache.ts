import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { recipeHash } from '../packages/recipe-hash.js';
import type { Workdir } from '../layout/workdir.js';
import type { RecipeMeta } from './read.js';

/** What a cached reading holds: a RecipeMeta, checked field by field when read back. */
const CachedMeta = z.strictObject({
  name: z.string(),
  file: z.string(),
  category: z.string(),
  pkgver: z.string(),
  pkgrel: z.string(),
  desc: z.string(),
  deps: z.array(z.string()),
  mkdeps: z.array(z.string()),
  bad: z.array(z.string()),
  provides: z.array(z.string()),
  functions: z.array(z.string()),
  shlibs: z.array(z.string()),
});

/**
 * Readings of recipes kept in the work directory (`recipes/<key>.json`), so a tree that
 * did not change is read without starting a sandbox per recipe. The key is a sha256 over
 * everything a reading depends on: the recipe's directory (recipeHash: build.sh and every
 * file beside it, which it may source), its path, the tree's category names, the
 * runner's environment and the reader script itself. What is kept is what iglu parsed
 * and checked from the sandbox's output, never the recipe's own text; a damaged entry is
 * read again.
 */
export class RecipeCache {
  constructor(readonly dir: string) {}

  /** The key of `file`'s reading. */
  async key(file: string, categories: ReadonlySet<string>, env: Record<string, string>, reader: string, signal?: AbortSignal): Promise<string> {
    const parts = { dir: await recipeHash(file, signal), file, categories: [...categories].sort(), env, reader };
    return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  }

  /** The reading kept under `key`, or undefined when there is none (or it is damaged). */
  async get(key: string): Promise<RecipeMeta | undefined> {
    const text = await readFile(path.join(this.dir, `${key}.json`), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const parsed = CachedMeta.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** Keeps a reading under `key` (written whole, then renamed into place). */
  async put(key: string, meta: RecipeMeta): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, `${key}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(meta)}\n`);
    await rename(tmp, file);
  }
}

/**
 * The work directory's cache of recipe readings; none while the work directory does not
 * exist (a command that only reads, such as `chroot plan`, makes no work directory).
 */
export function recipeCacheOf(workdir: Workdir): RecipeCache | undefined {
  return existsSync(workdir.root) ? new RecipeCache(workdir.recipeCacheDir) : undefined;
}

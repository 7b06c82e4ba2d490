import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A tree of hostile recipes written by a test: `add('cat/pkg', text)` writes cat/pkg/build.sh. */
export function hostileTree(prefix = 'iglu-hostile-'): { dir: string; add: (at: string, text: string) => string } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return {
    dir,
    add(at, text) {
      const file = path.join(dir, at, 'build.sh');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
  };
}

/**
 * A canary outside every work directory: a directory holding a file `keep` (its content
 * and mtime recorded) and a path `made` that must never come to exist.
 */
export function canary(name: string): { dir: string; keep: string; made: string; intact: () => boolean } {
  const dir = mkdtempSync(path.join(tmpdir(), `iglu-canary-${name}-`));
  const keep = path.join(dir, 'keep');
  writeFileSync(keep, 'canary\n');
  const mtime = statSync(keep).mtimeMs;
  const made = path.join(dir, 'made');
  return { dir, keep, made, intact: () => existsSync(keep) && statSync(keep).mtimeMs === mtime && !existsSync(made) };
}

/** A sha256 over every path, type, mode and content under `dir` (links by their target), to show a tree was not changed. */
export function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, name);
      const st = lstatSync(path.join(dir, r));
      h.update(`${r}\0${st.mode}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(path.join(dir, r)));
      else if (st.isFile()) h.update(readFileSync(path.join(dir, r)));
      else if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return h.digest('hex');
}

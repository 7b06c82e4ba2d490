import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
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

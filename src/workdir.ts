import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/** Default work directory, relative to the current directory. */
export const DEFAULT_WORKDIR = '.iglu';

/**
 * The work directory and the places inside it. Everything iglu keeps between runs
 * lives here: logs, image build scratch space, source cache, packages, state and locks.
 */
export class Workdir {
  /** @param root absolute path */
  constructor(readonly root: string) {}

  /** Precedence: --workdir flag, then `workdir:` in iglu.yaml, then DEFAULT_WORKDIR. */
  static resolve(flag: string | undefined, fromConfig: string | undefined): Workdir {
    return new Workdir(path.resolve(flag ?? fromConfig ?? DEFAULT_WORKDIR));
  }

  /** A path inside the work directory; creates its parent directory. */
  async file(...parts: string[]): Promise<string> {
    const p = path.join(this.root, ...parts);
    await mkdir(path.dirname(p), { recursive: true });
    return p;
  }

  /** A directory inside the work directory, created when missing. */
  async dir(...parts: string[]): Promise<string> {
    const p = path.join(this.root, ...parts);
    await mkdir(p, { recursive: true });
    return p;
  }
}

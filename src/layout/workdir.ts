import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';

/** Default work directory, relative to the current directory. */
export const DEFAULT_WORKDIR = '.iglu';

/**
 * The work directory and the places inside it. Everything iglu keeps between runs
 * lives here: logs, image build scratch space, source cache, packages, state and locks.
 * This folder (src/layout) is the one owner of the layout: Workdir names the top-level
 * places, ChrootPaths the build root's, PackagePaths the packages'; in-root.ts says where
 * things are inside a sandbox.
 */
export class Workdir {
  /** @param root absolute path */
  constructor(readonly root: string) {}

  /** Precedence: --workdir flag, then `workdir:` in iglu.yaml, then DEFAULT_WORKDIR. */
  static resolve(flag: string | undefined, fromConfig: string | undefined): Workdir {
    return new Workdir(path.resolve(flag ?? fromConfig ?? DEFAULT_WORKDIR));
  }

  /**
   * The trees that hold package files (workspaces, packages, the build root and its
   * sysroot, the image's stage): 0700, so no other user of the host reaches a file a
   * package made, whatever its mode (a setuid file of the sandbox's uid in a workspace).
   */
  static readonly PRIVATE_TREES = ['build', 'out', 'chroot', 'disk'] as const;

  /**
   * Makes PRIVATE_TREES (and the work directory) when missing and sets them to 0700 when
   * iglu runs as root. Called by the commands that build or unpack packages (withChroot,
   * `toolchain build`), not by every command: `farm status` makes no work directory (the sandbox is entered as root: sandbox-enter.sh binds what it
   * needs, so no unprivileged uid has to cross them). Idempotent.
   */
  async secure(): Promise<void> {
    if (process.getuid?.() !== 0) return;
    for (const tree of Workdir.PRIVATE_TREES) {
      const p = path.join(this.root, tree);
      await mkdir(p, { recursive: true, mode: 0o700 });
      await chmod(p, 0o700);
    }
  }

  /** sources/: the checksummed source cache (sources/cache.ts). */
  get sourcesDir(): string {
    return path.join(this.root, 'sources');
  }

  /** logs/: one log per package, boot.log. */
  get logsDir(): string {
    return path.join(this.root, 'logs');
  }

  /** disk/: the image's scratch directories (build.<pid>). */
  get diskDir(): string {
    return path.join(this.root, 'disk');
  }

  /** cache/recipes: recipes' readings by what they depend on (recipes/read-cache.ts). */
  get recipeCacheDir(): string {
    return path.join(this.root, 'cache', 'recipes');
  }

  /** iglunix.img: the image `iglu image` and `iglu build` make, `iglu boot` boots. */
  get imageFile(): string {
    return path.join(this.root, 'iglunix.img');
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

import { mkdir, readFile, readdir, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { describe } from '../errors.js';

/** Bundle names the queue directory takes: NAME.tar, NAME.tar.gz, NAME.tgz, NAME.tar.zst. */
export const BUNDLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,120}\.(tar|tar\.gz|tgz|tar\.zst)$/;

/**
 * Watches construir's queue directory: a bundle becomes a task once its writer has
 * closed it. inotifywait(1) (inotify-tools) reports IN_CLOSE_WRITE and IN_MOVED_TO, so a
 * writer that stalls mid-file starts nothing (a size that stops changing would); a
 * rename into the directory counts at once. Bundles already there at start are taken
 * unless a process still has them open for writing (/proc/PID/fd, as root), in which case
 * their close is awaited like any other. Names that are not bundles (`.part` files, say)
 * are left alone. Dispose to stop watching.
 */
export async function watchQueue(dir: string, onBundle: (file: string) => Promise<void>, say: (line: string) => void): Promise<AsyncDisposable> {
  await mkdir(dir, { recursive: true });
  const watcher: ResultPromise = execa('inotifywait', ['-m', '-q', '-e', 'close_write,moved_to', '--format', '%f', '--', dir], {
    stdout: 'pipe',
    stderr: 'ignore',
    buffer: false,
    reject: false,
  });
  let chain = Promise.resolve();
  const take = (name: string) => {
    if (!BUNDLE_NAME.test(name)) return;
    chain = chain.then(() => onBundle(path.join(dir, name)).catch((err: unknown) => say(`queue: ${name}: ${describe(err)}`)));
  };
  readline.createInterface({ input: watcher.stdout! }).on('line', take);
  // inotifywait prints "Watches established." to stderr once it watches; give it a moment, then look at what is there
  await new Promise((r) => setTimeout(r, 200));
  const open = await openForWriting();
  for (const name of (await readdir(dir)).sort()) if (!open.has(path.join(dir, name))) take(name);
  return {
    async [Symbol.asyncDispose]() {
      watcher.kill();
      await watcher.catch(() => undefined);
      await chain;
    },
  };
}

/** Files some process has open for writing (flags in /proc/PID/fdinfo: O_WRONLY or O_RDWR). */
async function openForWriting(): Promise<Set<string>> {
  const open = new Set<string>();
  for (const pid of (await readdir('/proc').catch(() => [])).filter((p) => /^\d+$/.test(p))) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (!target.startsWith('/')) continue;
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      const flags = parseInt(/flags:\s+(\d+)/.exec(info)?.[1] ?? '0', 8);
      if (flags & 0o3) open.add(target);
    }
  }
  return open;
}

/** Moves a finished bundle from the queue to the done directory, with `NAME.status.json` and `NAME.log` beside it. */
export async function moveToDone(file: string, doneDir: string, status: unknown, log: string): Promise<void> {
  await mkdir(doneDir, { recursive: true });
  const name = path.basename(file);
  await writeFile(path.join(doneDir, `${name}.status.json`), `${JSON.stringify(status, null, 2)}\n`);
  await writeFile(path.join(doneDir, `${name}.log`), log);
  await rename(file, path.join(doneDir, name)).catch(async () => rm(file, { force: true }));
}

/** Removes entries of `dirs` whose modification time is older than `seconds` ago. @returns the names removed */
export async function sweepOld(dirs: string[], seconds: number, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of dirs) {
    for (const name of await readdir(dir).catch(() => [])) {
      const p = path.join(dir, name);
      const st = await stat(p).catch(() => undefined);
      if (st && now - st.mtimeMs > seconds * 1000) {
        await rm(p, { recursive: true, force: true });
        removed.push(p);
      }
    }
  }
  return removed;
}

import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, readlink, rename, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
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
 * are left alone. inotifywait runs under `setpriv --pdeathsig KILL`, so a kill -9 of the
 * service takes it along; one a service killed before left behind (the same arguments,
 * its parent no longer node) is killed first. Dispose to stop watching.
 */
export async function watchQueue(dir: string, onBundle: (file: string) => Promise<void>, say: (line: string) => void): Promise<AsyncDisposable> {
  await mkdir(dir, { recursive: true });
  const argv = ['inotifywait', '-m', '-q', '-e', 'close_write,moved_to', '--format', '%f', '--', dir];
  for (const pid of await strayWatchers(argv)) {
    say(`queue: killing the watcher (pid ${pid}) a stopped service left on ${dir}`);
    process.kill(pid, 'SIGKILL');
  }
  const watcher: ResultPromise = execa('setpriv', ['--pdeathsig', 'KILL', '--', ...argv], {
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
  const writing = await openForWriting();
  for (const name of (await readdir(dir)).sort()) if (!writing.has(path.join(dir, name))) take(name);
  return {
    async [Symbol.asyncDispose]() {
      watcher.kill();
      await watcher.catch(() => undefined);
      await chain;
    },
  };
}

/** inotifywait processes with exactly `argv` whose parent is not a node process (their service is gone). */
async function strayWatchers(argv: string[]): Promise<number[]> {
  const stray: number[] = [];
  for (const pid of (await readdir('/proc').catch(() => [])).filter((p) => /^\d+$/.test(p))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline !== `${argv.join('\0')}\0`) continue;
    const ppid = /^PPid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1];
    const parentExe = ppid ? await readlink(`/proc/${ppid}/exe`).catch(() => '') : '';
    if (parentExe !== process.execPath) stray.push(Number(pid));
  }
  return stray;
}

/** Files some process has open for writing (flags in /proc/PID/fdinfo: O_WRONLY or O_RDWR). */
async function openForWriting(): Promise<Set<string>> {
  const writing = new Set<string>();
  for (const pid of (await readdir('/proc').catch(() => [])).filter((p) => /^\d+$/.test(p))) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (!target.startsWith('/')) continue;
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      const flags = parseInt(/flags:\s+(\d+)/.exec(info)?.[1] ?? '0', 8);
      if (flags & 0o3) writing.add(target);
    }
  }
  return writing;
}

/** A refusal of what was dropped in the queue, before it is read: its reason never quotes the file. */
export class QueueRefusal extends Error {}

/**
 * Opens a bundle dropped in the queue directory, as root, only when it is a regular file
 * written there: opened O_NOFOLLOW|O_NONBLOCK (a symbolic link is not followed, a FIFO
 * does not block), then fstat: a FIFO, device, directory or socket is refused, and so is
 * a file with other hard links (its content may be someone else's).
 * @throws QueueRefusal saying what the entry is
 */
export async function openQueued(file: string): Promise<FileHandle> {
  const kind = (st: Stats) => (st.isSymbolicLink() ? 'a symbolic link' : st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : 'a device or socket');
  const before = await lstat(file);
  if (!before.isFile()) throw new QueueRefusal(`${path.basename(file)} is ${kind(before)}, not a regular file: the queue takes only files written into it`);
  let fh: FileHandle;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new QueueRefusal(`${path.basename(file)} is a symbolic link, not a regular file`);
    throw err;
  }
  const st = await fh.stat();
  const why = !st.isFile()
    ? `is ${kind(st)}, not a regular file`
    : st.nlink > 1
      ? `has ${st.nlink - 1} other hard link(s): the queue takes only files written into it`
      : '';
  if (why) {
    await fh.close();
    throw new QueueRefusal(`${path.basename(file)} ${why}`);
  }
  return fh;
}

/**
 * Moves a finished bundle from the queue to the done directory, with `NAME.status.json`
 * and `NAME.log` beside it. Each is written to a new file of its own (O_EXCL: never
 * through a link planted there) and renamed over the name, owned by the bundle's owner
 * and group with its read bits (so whoever could not read the bundle cannot read what its
 * refusal says of it; 0600 when what was dropped was not a regular file).
 */
export async function moveToDone(file: string, doneDir: string, status: unknown, log: string): Promise<void> {
  await mkdir(doneDir, { recursive: true });
  const name = path.basename(file);
  const st = await lstat(file).catch(() => undefined);
  const access = { uid: st?.uid ?? 0, gid: st?.gid ?? 0, mode: st?.isFile() ? (st.mode & 0o444) | 0o200 : 0o600 };
  await writeExclusive(path.join(doneDir, `${name}.status.json`), `${JSON.stringify(status, null, 2)}\n`, access);
  await writeExclusive(path.join(doneDir, `${name}.log`), log, access);
  await rename(file, path.join(doneDir, name)).catch(async () => rm(file, { force: true }));
}

async function writeExclusive(target: string, text: string, access: { uid: number; gid: number; mode: number }): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}`);
  const fh = await open(temp, 'wx', 0o600);
  try {
    // a service that may not give it away (not root) keeps it to itself
    const given = await fh.chown(access.uid, access.gid).catch(() => 'no');
    if (given !== 'no') await fh.chmod(access.mode);
    await fh.writeFile(text);
    await fh.close();
    await rename(temp, target);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}

/** Removes entries of `dirs` whose modification time is older than `seconds` ago. @returns the names removed */
export async function sweepOld(dirs: string[], seconds: number, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of dirs) {
    for (const name of await readdir(dir).catch(() => [])) {
      const p = path.join(dir, name);
      const st = await lstat(p).catch(() => undefined);
      if (st && now - st.mtimeMs > seconds * 1000) {
        await rm(p, { recursive: true, force: true });
        removed.push(p);
      }
    }
  }
  return removed;
}

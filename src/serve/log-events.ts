import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** The most of the log read at once, bytes: a line longer than this has its head shown and the rest skipped. */
const WINDOW = 1 << 20;
/** The most of one line an event shows, bytes; the rest of a longer line is left out, saying how much. */
export const MAX_LINE = 16 << 10;

/**
 * Follows a task's log as server-sent events (the WHATWG HTML "server-sent events"
 * format): each event holds the complete lines written since the last, its `id` the log's
 * byte offset after them, so a client that reconnects with `Last-Event-ID` resumes
 * exactly where it was (EventSource does so by itself). A line over MAX_LINE bytes is cut
 * (its head, then how many bytes were left out), one over the 1 MiB read window too, so
 * the lines after it still come; the whole log stays at `GET /task/{id}/log`. When the
 * task has ended and the log is read to its end (a last line without its newline
 * included), an `end` event carries the task's state and the stream closes.
 * @param from the byte offset to start at (Last-Event-ID, else 0)
 * @param ended the task's final state once it has one
 */
export async function streamLog(res: ServerResponse, file: string, from: number, ended: () => string | undefined, signal: AbortSignal): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write('retry: 1000\n\n');
  const reader = new LogReader(from);
  let idle = 0;
  while (!signal.aborted) {
    const state = ended();
    const lines = await reader.next(file, state !== undefined);
    if (lines) {
      if (lines.length) res.write(`id: ${reader.offset}\n${lines.map((l) => `data: ${l}`).join('\n')}\n\n`);
      idle = 0;
      continue;
    }
    if (state) {
      res.write(`id: ${reader.offset}\nevent: end\ndata: ${state}\n\n`);
      break;
    }
    // a comment now and then keeps proxies from closing a quiet stream
    if (++idle % 50 === 0) res.write(': keep-alive\n\n');
    await sleep(200, undefined, { signal }).catch(() => undefined);
  }
  res.end();
}

/**
 * Reads a growing log line by line from a byte offset, each line cut to MAX_LINE bytes.
 * `offset` is where the next read starts (after the lines returned, or inside an
 * over-long line whose rest is being skipped).
 */
export class LogReader {
  /** Bytes of an over-long line still to skip (its head was shown); -1 when not in one. */
  private skipped = -1;

  constructor(public offset: number) {}

  /**
   * The next complete lines; none while the rest of an over-long line is skipped; undefined
   * when nothing new is there yet.
   * @param final the writer is done: a last line without its newline counts as complete
   */
  async next(file: string, final: boolean): Promise<string[] | undefined> {
    const chunk = await readFrom(file, this.offset);
    if (!chunk.length && this.skipped < 0) return undefined;
    const nl = chunk.indexOf(0x0a);
    if (this.skipped >= 0) {
      this.skipped += nl < 0 ? chunk.length : nl;
      this.offset += nl < 0 ? chunk.length : nl + 1;
      if (nl < 0 && chunk.length) return []; // more of it may follow
      if (nl < 0 && !final) return undefined;
      const left = this.skipped;
      this.skipped = -1;
      return [`… (${left} more bytes of this line left out)`];
    }
    const end = chunk.lastIndexOf(0x0a);
    if (end >= 0) {
      this.offset += end + 1;
      return chunk.subarray(0, end).toString('utf8').split('\n').map(cutLine);
    }
    if (chunk.length >= WINDOW) {
      // a whole window without a newline: show its head now, skip the rest of the line
      this.offset += chunk.length;
      this.skipped = chunk.length - MAX_LINE;
      return [`${headOf(chunk)}…`];
    }
    if (!final) return undefined; // a line still being written
    this.offset += chunk.length;
    return [cutLine(chunk.toString('utf8'))];
  }
}

/** A line cut to MAX_LINE bytes (at a character boundary), saying how much was left out. Pure. */
function cutLine(line: string): string {
  const bytes = Buffer.byteLength(line);
  if (bytes <= MAX_LINE) return line;
  const head = headOf(Buffer.from(line));
  return `${head}… (${bytes - Buffer.byteLength(head)} more bytes of this line left out)`;
}

/** The first MAX_LINE bytes as text, without a character cut in two. Pure. */
function headOf(bytes: Buffer): string {
  return bytes
    .subarray(0, MAX_LINE)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

async function readFrom(file: string, offset: number): Promise<Buffer> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return Buffer.alloc(0);
  try {
    const size = (await fh.stat()).size;
    if (size <= offset) return Buffer.alloc(0);
    const len = Math.min(size - offset, WINDOW);
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(len), 0, len, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

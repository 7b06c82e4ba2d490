import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Follows a task's log as server-sent events (the WHATWG HTML "server-sent events"
 * format): each event holds the complete lines written since the last, its `id` the log's
 * byte offset after them, so a client that reconnects with `Last-Event-ID` resumes
 * exactly where it was (EventSource does so by itself). When the task has ended and the
 * log is read to its end, an `end` event carries the task's state and the stream closes.
 * @param from the byte offset to start at (Last-Event-ID, else 0)
 * @param ended the task's final state once it has one
 */
export async function streamLog(res: ServerResponse, file: string, from: number, ended: () => string | undefined, signal: AbortSignal): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write('retry: 1000\n\n');
  let offset = from;
  let idle = 0;
  while (!signal.aborted) {
    const state = ended();
    const chunk = await readFrom(file, offset);
    const end = chunk.lastIndexOf(0x0a);
    if (end >= 0) {
      const text = chunk.subarray(0, end).toString('utf8');
      offset += end + 1;
      res.write(
        `id: ${offset}\n${text
          .split('\n')
          .map((l) => `data: ${l}`)
          .join('\n')}\n\n`,
      );
      idle = 0;
      continue;
    }
    if (state) {
      res.write(`id: ${offset}\nevent: end\ndata: ${state}\n\n`);
      break;
    }
    // a comment now and then keeps proxies from closing a quiet stream
    if (++idle % 50 === 0) res.write(': keep-alive\n\n');
    await sleep(200, undefined, { signal }).catch(() => undefined);
  }
  res.end();
}

async function readFrom(file: string, offset: number): Promise<Buffer> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return Buffer.alloc(0);
  try {
    const size = (await fh.stat()).size;
    if (size <= offset) return Buffer.alloc(0);
    const len = Math.min(size - offset, 1 << 20);
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(len), 0, len, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

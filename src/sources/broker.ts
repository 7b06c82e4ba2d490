import { chmod, mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, IgluError } from '../errors.js';
import type { SourceCache, SourceMirror } from './cache.js';
import type { LockedSource } from './lock-file.js';

/** One line a shim sends: the URL it wants. */
export interface BrokerRequest {
  url: string;
}

/** One line the broker answers: where the content is in the cache, or why not. */
export type BrokerReply = ({ ok: true; url: string } & LockedSource) | { ok: false; error: string; hint?: string };

/**
 * The source broker: the only way a sandboxed fetch() reaches sources. It listens on a
 * unix socket (unix(7)) that is bind-mounted into the fetch sandbox, which has no network
 * at all; for each request (one JSON line `{"url"}`) it makes sure the URL's content is in
 * the source cache (downloading it only when not offline) and answers one JSON line with
 * its sha256 and size. The shim then copies the file from the cache, which the sandbox
 * sees read-only. Every URL served is recorded here, on the host, where recipe code
 * cannot forge or drop it. Dispose it to close the socket.
 */
export class SourceBroker implements AsyncDisposable {
  /** URL → what was served, in the order first asked. */
  readonly served = new Map<string, LockedSource>();
  /** URLs whose content came from the mirror (not the cache, not the network). */
  readonly mirrored = new Set<string>();

  private constructor(
    private readonly server: net.Server,
    readonly socket: string,
  ) {}

  /**
   * Starts a broker on `<dir>/sock` (dir created, 0755; the socket 0666 so the sandbox's
   * unprivileged uid may connect).
   * @param mirror asked on a cache miss before the network (SourceCache.ensure)
   * @throws IgluError when the socket cannot be made
   */
  static async start(dir: string, cache: SourceCache, offline: boolean, mirror?: SourceMirror): Promise<SourceBroker> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chmod(dir, 0o755);
    const socket = path.join(dir, 'sock');
    let broker: SourceBroker | undefined;
    const server = net.createServer((conn) => {
      const lines = createInterface({ input: conn });
      lines.once('line', (line) => {
        void answer(line).then((reply) => conn.end(`${JSON.stringify(reply)}\n`));
      });
      conn.on('error', () => undefined);
    });
    async function answer(line: string): Promise<BrokerReply> {
      try {
        const req = JSON.parse(line) as Partial<BrokerRequest>;
        if (typeof req.url !== 'string' || !/^https?:\/\/[^\s]+$/.test(req.url))
          return { ok: false, error: `not an http(s) URL: ${JSON.stringify(req.url)}`, hint: 'recipes fetch release files over http or https' };
        const got = await cache.ensure(req.url, { offline, mirror });
        broker?.served.set(req.url, { sha256: got.sha256, size: got.size });
        if (got.from === 'mirror') broker?.mirrored.add(req.url);
        return { ok: true, url: req.url, sha256: got.sha256, size: got.size };
      } catch (err) {
        return { ok: false, error: describe(err), ...(err instanceof IgluError && err.hint ? { hint: err.hint } : {}) };
      }
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new IgluError(`cannot open the source broker's socket ${socket}: ${err.message}`, { hint: 'check that the work directory is writable', cause: err }),
        ),
      );
      server.listen(socket, resolve);
    });
    await chmod(socket, 0o666);
    broker = new SourceBroker(server, socket);
    return broker;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(path.dirname(this.socket), { recursive: true, force: true });
  }
}

/**
 * Asks a broker for `url` (the shim's side).
 * @throws Error when the socket cannot be reached or answers nothing
 */
export async function askBroker(socket: string, url: string): Promise<BrokerReply> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socket, () => conn.write(`${JSON.stringify({ url } satisfies BrokerRequest)}\n`));
    let text = '';
    conn.setEncoding('utf8');
    conn.on('data', (d: string) => {
      text += d;
    });
    conn.on('end', () => {
      try {
        resolve(JSON.parse(text) as BrokerReply);
      } catch {
        reject(new Error(`the source broker at ${socket} answered nothing`));
      }
    });
    conn.on('error', reject);
  });
}

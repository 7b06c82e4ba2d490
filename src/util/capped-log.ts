import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { once } from 'node:events';

/** The most of its last part a CappedLog holds in memory until it ends, bytes. */
const TAIL_BYTES = 8 * 1024 * 1024;
/** What lastText gives: the output's last bytes, whether kept in the first part or the last. */
const LAST_BYTES = 64 * 1024;

/**
 * A log file that keeps at most `capBytes` of what is written to it: the first part is
 * written as it comes; of the rest, only the last part (at most a half of the cap, and at
 * most 8 MiB) is held in memory and written when the stream ends, after a line saying how
 * many bytes were left out between and which limit says so (`what`). So a job that
 * prints gigabytes costs the cap on disk and 8 MiB of memory at most.
 */
export class CappedLog extends Writable {
  private readonly headMax: number;
  private readonly tailMax: number;
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private last: Buffer[] = [];
  private lastBytes = 0;
  /** Bytes left out so far. */
  dropped = 0;
  /** Bytes written to it so far (kept or not). */
  total = 0;
  private readonly out;

  /**
   * @param file opened for appending (`flags: 'a'`) or anew (`'w'`)
   * @param what the limit's words for the note, e.g. "limits.logMiB = 64"
   */
  constructor(
    file: string,
    capBytes: number,
    private readonly what: string,
    flags: 'a' | 'w' = 'a',
  ) {
    super();
    this.tailMax = Math.min(TAIL_BYTES, Math.floor(capBytes / 2));
    this.headMax = capBytes - this.tailMax;
    this.out = createWriteStream(file, { flags });
    this.out.on('error', (err) => this.destroy(err));
  }

  /** Bytes of output held in memory now (the last part, and the last 64 KiB): bounded whatever is written. */
  get heldBytes(): number {
    return this.tailBytes + this.lastBytes;
  }

  /** The output's last 64 KiB (a job's usage line is there). */
  lastText(): string {
    const all = Buffer.concat(this.last);
    return all.subarray(Math.max(0, all.length - LAST_BYTES)).toString('utf8');
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.total += chunk.length;
    this.last.push(chunk);
    this.lastBytes += chunk.length;
    while (this.lastBytes - this.last[0]!.length >= LAST_BYTES) this.lastBytes -= this.last.shift()!.length;
    const room = Math.max(0, this.headMax - this.headBytes);
    const head = chunk.subarray(0, room);
    this.headBytes += head.length;
    this.keep(chunk.subarray(head.length));
    if (!head.length || this.out.write(head)) cb();
    else once(this.out, 'drain').then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.dropped) this.out.write(`\niglu: ${this.dropped} bytes of the output left out here (${this.what}: its first and last parts are kept)\n`);
    this.out.end(Buffer.concat(this.tail), () => cb());
  }

  private keep(rest: Buffer): void {
    if (!rest.length) return;
    this.tail.push(rest);
    this.tailBytes += rest.length;
    while (this.tailBytes > this.tailMax) {
      const first = this.tail[0]!;
      const over = this.tailBytes - this.tailMax;
      if (first.length <= over) this.tail.shift();
      else this.tail[0] = first.subarray(over);
      const cut = Math.min(first.length, over);
      this.tailBytes -= cut;
      this.dropped += cut;
    }
  }
}

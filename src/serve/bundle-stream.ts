import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';

/** How a bundle is compressed, by its first bytes (gzip 1f 8b, zstd 28 b5 2f fd, else plain tar). */
export type Compression = 'gzip' | 'zstd' | 'none';

/** The compression of the file's first bytes. */
export async function compressionOf(file: string): Promise<Compression> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    const head = buffer.subarray(0, bytesRead);
    if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (head.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
    return 'none';
  } finally {
    await fh.close();
  }
}

/** A bundle's plain tar as it is decompressed. */
export interface PlainTar {
  stream: Readable;
  /** Decompressed bytes passed on so far. */
  bytes: () => number;
}

/**
 * The bundle as a plain tar stream: gunzip (node:zlib) or `zstd -dc` when compressed,
 * counted as it passes. When `signal` aborts, decompression stops at once (`zstd` is
 * killed, the streams destroyed) and the stream ends with the signal's reason, so a
 * compression bomb costs what was read before the reader gave up, never its whole
 * expansion.
 * @param onBytes called with the total so far after each chunk (decide there to abort)
 */
export async function plainTar(file: string, o: { signal?: AbortSignal; onBytes?: (total: number) => void } = {}): Promise<PlainTar> {
  const c = await compressionOf(file);
  const zstd =
    c === 'zstd' ? execa('zstd', ['-dc', '--', file], { stdout: 'pipe', buffer: false, reject: false, stderr: 'ignore', stdin: 'ignore' }) : undefined;
  const raw = zstd ? undefined : createReadStream(file);
  const source: Readable = raw ? (c === 'gzip' ? raw.pipe(createGunzip()) : raw) : (zstd?.stdout ?? Readable.from([]));
  let total = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      done(null, chunk);
      o.onBytes?.(total);
    },
  });
  const stop = () => {
    zstd?.kill('SIGKILL');
    source.unpipe(counted);
    source.destroy();
    raw?.destroy();
    counted.destroy(o.signal?.reason instanceof Error ? o.signal.reason : new Error('stopped'));
  };
  if (o.signal?.aborted) stop();
  else o.signal?.addEventListener('abort', stop, { once: true });
  source.on('error', (err: Error) => counted.destroy(err));
  source.pipe(counted);
  return { stream: counted, bytes: () => total };
}

import { Transform, type TransformCallback } from 'node:stream';

/**
 * A Transform from a multiplexed log answer to its payload: frames of an 8-byte header
 * (stream, 0, 0, 0, big-endian length) and that many bytes (Engine API, "Stream format"
 * of attach and logs), stdout and stderr alike, split anywhere across chunks. Unlike
 * dockerode's demuxStream it keeps backpressure, so a slow sink never makes it buffer.
 */
export function demuxed(): Transform {
  let header = Buffer.alloc(0);
  let left = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      let at = 0;
      while (at < chunk.length) {
        if (left > 0) {
          const part = chunk.subarray(at, at + left);
          this.push(part);
          left -= part.length;
          at += part.length;
          continue;
        }
        const need = 8 - header.length;
        header = Buffer.concat([header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (header.length === 8) {
          left = header.readUInt32BE(4);
          header = Buffer.alloc(0);
        }
      }
      cb();
    },
  });
}

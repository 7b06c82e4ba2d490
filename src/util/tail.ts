import { open } from 'node:fs/promises';

/** The most of a line an error message quotes, characters. */
const LINE_CHARS = 300;
/** How much of a file's end tailOf reads, bytes: enough for its lines, never the whole of a huge log. */
const TAIL_BYTES = 256 * 1024;

/**
 * The last `lines` lines of a text file, each cut to 300 characters as tailLines cuts
 * them (a recipe's one-line 1 MiB output must not reach an error message whole), or ''
 * when it cannot be read. Reads at most the file's last 256 KiB.
 */
export async function tailOf(file: string, lines = 20): Promise<string> {
  try {
    const fh = await open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      const len = Math.min(size, TAIL_BYTES);
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(len), 0, len, size - len);
      const text = buffer.subarray(0, bytesRead).toString('utf8');
      return text.trimEnd().split('\n').slice(-lines).map(cut).join('\n');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/**
 * The last `lines` lines of `text`, each cut to 300 characters: what an error message
 * quotes of a tool's stderr (a full disk makes GNU tar print one line per file). Pure.
 */
export function tailLines(text: string, lines = 5): string {
  const all = text.trimEnd().split('\n');
  const tail = all.slice(-lines).map(cut);
  return `${all.length > lines ? `(${all.length - lines} earlier lines left out) ` : ''}${tail.join('\n')}`;
}

function cut(line: string): string {
  return line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS)}…` : line;
}

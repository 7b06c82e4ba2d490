import { readFile } from 'node:fs/promises';

/** The last `lines` lines of a text file, or '' when it cannot be read. */
export async function tailOf(file: string, lines = 20): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

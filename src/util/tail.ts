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

/**
 * The last `lines` lines of `text`, each cut to 300 characters: what an error message
 * quotes of a tool's stderr (a full disk makes GNU tar print one line per file). Pure.
 */
export function tailLines(text: string, lines = 5): string {
  const all = text.trimEnd().split('\n');
  const tail = all.slice(-lines).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
  return `${all.length > lines ? `(${all.length - lines} earlier lines left out) ` : ''}${tail.join('\n')}`;
}

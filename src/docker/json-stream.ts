import { IgluError } from '../errors.js';

/** One line of a streamed Engine API answer (image load, import, pull). */
export interface ProgressLine {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  [key: string]: unknown;
}

/**
 * Reads a newline-delimited JSON stream from the Engine API to its end and rejects when
 * any line carries `{"error": …}`: the Engine reports failed loads and imports that way
 * inside a 200 response (Engine API, "POST /images/load", "POST /images/create").
 *
 * @param stream the response body dockerode returns
 * @param what what the stream is for, used in the error message
 * @returns every parsed line
 * @throws IgluError on an error line, a line that is not JSON, or a stream error
 */
export async function readJsonLines(stream: NodeJS.ReadableStream, what: string): Promise<ProgressLine[]> {
  const lines: ProgressLine[] = [];
  let buffered = '';
  const take = (text: string) => {
    const trimmed = text.trim();
    if (!trimmed) return;
    let line: ProgressLine;
    try {
      line = JSON.parse(trimmed) as ProgressLine;
    } catch (err) {
      throw new IgluError(`${what}: the Docker Engine answered with a line that is not JSON: ${trimmed.slice(0, 200)}`, { cause: err });
    }
    if (line.error || line.errorDetail?.message) {
      throw new IgluError(`${what} failed: ${line.error ?? line.errorDetail?.message}`, {
        hint: 'the Docker Engine rejected it; see its log (journalctl -u docker or /var/log/dockerd.log)',
      });
    }
    lines.push(line);
  };
  for await (const chunk of stream) {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      take(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
  take(buffered);
  return lines;
}

/**
 * Writes a command's result to stdout: JSON (one document, 2-space indented) with
 * --json, else the human text. Progress and logs never go to stdout.
 */
export function printResult(json: boolean, data: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

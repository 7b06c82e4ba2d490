/** The global options that take a value (`--workdir DIR` or `--workdir=DIR`). */
const VALUE_OPTIONS = new Set(['--workdir', '--config', '--docker-host']);

/**
 * The command word of an argument list (after node and the script): the first argument
 * that is neither a global option nor a global option's value; undefined when there is
 * none. Pure.
 */
export function commandWord(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

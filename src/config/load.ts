import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isMap, isScalar, type Document } from 'yaml';
import type { z } from 'zod';
import { IgluError } from '../errors.js';
import { log } from '../log.js';
import { ConfigSchema, type Config } from './schema.js';

/** Default config file, relative to the current directory. */
export const DEFAULT_CONFIG_FILE = 'iglu.yaml';
/** YAML aliases a file may expand (the yaml package's default, which guards against an alias bomb). */
const MAX_ALIASES = 100;

/**
 * Reads and validates iglu.yaml into a typed Config.
 *
 * @param file path of the YAML file
 * @param required when false, a missing file yields the defaults
 * @returns the validated config, defaults filled in
 * @throws IgluError naming `file:line` and the key for YAML syntax errors, unknown keys
 *   and wrong types; or the missing file when `required`
 */
export async function loadConfig(file: string, required: boolean): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !required) {
      log.config('no %s, using defaults', file);
      return parseConfig('', file);
    }
    throw new IgluError(`cannot read config file ${file}`, { hint: 'check the --config path', cause: err });
  }
  return parseConfig(text, file);
}

/**
 * Parses YAML text as an iglu config. Pure: `file` is used only in messages.
 * @throws IgluError as loadConfig does
 */
export function parseConfig(text: string, file: string): Config {
  return parseYamlFile(ConfigSchema, text, file, 'see "Configuration" in the README for the keys iglu.yaml accepts');
}

/**
 * Parses YAML text (the yaml package, with line positions) and validates it against a zod
 * schema: iglu.yaml, qemu/machines.yaml. Pure: `file` is used only in messages.
 * @param hint the error's hint for a schema error (what the file accepts)
 * @throws IgluError naming `file:line` (and the column for syntax errors) and the key:
 *   YAML syntax, unknown keys, wrong types; naming the file for an alias bomb
 */
export function parseYamlFile<S extends z.ZodType>(schema: S, text: string, file: string, hint: string): z.output<S> {
  const { doc, lines } = yamlDocument(text, file);
  const result = schema.safeParse(plainOf(doc, file) ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new IgluError(describeIssue(issue, doc, lines, file), { hint });
}

/**
 * Parses YAML text into plain data (the yaml package). Pure: `file` is used only in messages.
 * @throws IgluError naming `file:line:column` for a syntax error
 */
export function readYamlText(text: string, file: string): unknown {
  return plainOf(yamlDocument(text, file).doc, file);
}

/** The document as plain data; aliases expanded, at most the yaml package's 100 (maxAliasCount). @throws IgluError naming the file past it */
function plainOf(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    throw new IgluError(`${file}: too many YAML aliases (*name) are expanded (over ${MAX_ALIASES}): a file of a few lines could grow to gigabytes`, {
      hint: 'write the values out instead of nesting aliases',
      cause: err,
    });
  }
}

function yamlDocument(text: string, file: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const { line, col } = lines.linePos(syntax.pos[0]);
    throw new IgluError(`${file}:${line}:${col}: ${syntax.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax at that line',
    });
  }
  return { doc, lines };
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, lines: LineCounter, file: string): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const at = keyOffset(doc, path, key);
    return `${file}${lineOf(at, lines)}: unknown key "${[...path, key].join('.')}"`;
  }
  const node = doc.getIn(path, true) as { range?: [number, number] } | undefined;
  const at = node?.range?.[0] ?? keyOffset(doc, path.slice(0, -1), path[path.length - 1]);
  return `${file}${lineOf(at, lines)}: "${path.join('.')}" ${issue.message}`;
}

function keyOffset(doc: Document, parent: string[], key: string | undefined): number | undefined {
  const map = parent.length ? doc.getIn(parent, true) : doc.contents;
  if (!isMap(map) || key === undefined) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  return (pair?.key as { range?: [number, number] } | undefined)?.range?.[0];
}

function lineOf(offset: number | undefined, lines: LineCounter): string {
  return offset === undefined ? '' : `:${lines.linePos(offset).line}`;
}

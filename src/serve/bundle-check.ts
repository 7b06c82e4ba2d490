import path from 'node:path';
import * as tar from 'tar';
import { IgluError } from '../errors.js';
import { linkProblems } from './bundle-links.js';
import { compressionOf, plainTar, type Compression } from './bundle-stream.js';

/** What a bundle may hold. */
export interface BundleLimits {
  /** The most its members may hold, bytes (a hard link counts its target's size). */
  unpackedBytes: number;
  /** The most members. */
  members: number;
}

/** A bundle that passed bundleProblems: its members and what they hold. */
export interface BundleSummary {
  compression: Compression;
  members: number;
  unpackedBytes: number;
  /** `<category>/<pkg>` directories holding a build.sh. */
  recipes: string[];
}

/** What checkBundle found. */
export interface BundleCheck {
  /** Set when the bundle passed. */
  summary?: BundleSummary;
  problems: string[];
  /** Bytes of plain tar read (decompressed): reading stops at the first limit passed. */
  plainBytes: number;
}

/** One member as the check sees it (node-tar's ReadEntry, reduced). */
export interface Member {
  path: string;
  type: string;
  size: number;
  linkpath?: string;
}

/** The longest name or link target a member may have, bytes (Linux's PATH_MAX: tar could not make a longer one). */
const PATH_MAX = 4096;

/** Member types a bundle may hold: files, directories, and links that stay inside it. */
const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/**
 * Why one member may not be in a bundle, or undefined when it may. A name must be
 * relative with no `..`, it and a link's target at most PATH_MAX bytes; a symbolic
 * link's target, read from the member's directory, and a hard link's must stay inside
 * the bundle (by their text: linkProblems resolves them through the bundle's links);
 * devices, FIFOs and other types are refused. Pure.
 */
export function memberProblem(m: Member): string | undefined {
  const name = m.path;
  if (Buffer.byteLength(name) > PATH_MAX || Buffer.byteLength(m.linkpath ?? '') > PATH_MAX)
    return `${name.slice(0, 80)}…: a name or link target longer than ${PATH_MAX} bytes (PATH_MAX)`;
  if (!ALLOWED.has(m.type)) return `${name}: a ${m.type} member (a bundle holds files, directories and links inside it)`;
  if (name.startsWith('/')) return `${name}: an absolute name`;
  if (name.split('/').includes('..')) return `${name}: a name with ".."`;
  if (m.type === 'SymbolicLink' || m.type === 'Link') {
    const target = m.linkpath ?? '';
    if (target.startsWith('/')) return `${name}: a link to the absolute path ${target}`;
    const from = m.type === 'SymbolicLink' ? path.posix.dirname(name) : '.';
    const resolved = path.posix.normalize(path.posix.join(from, target));
    if (resolved === '..' || resolved.startsWith('../')) return `${name}: a link leading out of the bundle (${target})`;
  }
  return undefined;
}

/** Tar framing one member may bring beside its content, bytes: its header, a pax header with long names, padding. */
const FRAMING_BYTES = 16 * 1024;
/** Tar's end beside the members, bytes: two zero blocks and the rest of a record, with room to spare. */
const END_BYTES = 1024 * 1024;

/** The members read so far and what they hold. */
class Tally {
  readonly all: Member[] = [];
  readonly recipes = new Set<string>();
  bytes = 0;
  /** Sizes of the files and hard links read so far, by name. */
  private readonly sizes = new Map<string, number>();
  /** The next member is sparse (its pax header held GNU.sparse.* records). */
  sparse = false;

  /** Counts one member: a hard link as its target's size (GNU tar makes a file of that size). @returns its problem */
  add(e: tar.ReadEntry): string | undefined {
    const name = e.path.replace(/^(\.\/)+/, '');
    const target = e.linkpath?.replace(/^(\.\/)+/, '');
    const size = e.type === 'Link' ? (this.sizes.get(target ?? '') ?? 0) : (e.size ?? 0);
    const m: Member = { path: name, type: e.type, size, ...(e.linkpath ? { linkpath: e.linkpath } : {}) };
    this.all.push(m);
    this.bytes += size;
    if (e.type !== 'Directory' && e.type !== 'SymbolicLink') this.sizes.set(name.replace(/\/+$/, ''), size);
    const parts = name.split('/');
    if (parts.length === 3 && parts[2] === 'build.sh' && e.type !== 'Directory') this.recipes.add(`${parts[0]}/${parts[1]}`);
    const sparse = this.sparse;
    this.sparse = false;
    if (sparse) return `${name}: a sparse file (its stored size is not what it unpacks to; a bundle holds plain files)`;
    return memberProblem(m);
  }
}

/**
 * Why a pax header may not be in a bundle: GNU.sparse.* records (a sparse member, whose
 * stored size is not its real size), or a record node-tar's reader drops and GNU tar
 * reads whole (a value holding a newline, a wrong length), which would let the member
 * checked differ from the member unpacked. Pure.
 * @param body the header's text, as node-tar's `meta` event gives it
 */
export function paxProblem(body: string): 'sparse' | 'unreadable' | undefined {
  if (body.includes('GNU.sparse.')) return 'sparse';
  if (!/^\d+ [^=\n]+=/.test(body)) return undefined;
  const bad = body.split('\n').some((line) => !/^\0*$/.test(line) && Number.parseInt(line, 10) !== Buffer.byteLength(line) + 1);
  return bad ? 'unreadable' : undefined;
}

/**
 * Reads a bundle's members (never unpacking it) and says what is wrong with it, all of
 * it: members that memberProblem refuses, links that lead out of it together
 * (linkProblems), sparse members, pax headers node-tar would read otherwise than GNU
 * tar, unknown member types, more members or bytes than `limits`, a tar that does not
 * parse, or no `<category>/<pkg>/build.sh`. A member is counted from its header, before
 * its content is read, and decompression stops as soon as a limit is passed (or the
 * plain tar grows past what that many members may take), so a compression bomb is
 * refused after reading about the limit, never its whole expansion.
 * @returns the summary, or the problems (each naming the member and the rule)
 */
export async function checkBundle(file: string, limits: BundleLimits): Promise<BundleCheck> {
  const problems: string[] = [];
  const note = (p: string | undefined) => p && problems.length < 20 && problems.push(p);
  const t = new Tally();
  const stop = new AbortController();
  const refuse = (why: string) => !stop.signal.aborted && (problems.push(why), stop.abort(new Error(why)));
  const parser = new tar.Parser({
    zstd: false,
    onReadEntry: (e) => {
      note(t.add(e));
      e.resume();
      if (t.all.length > limits.members) refuse(`${t.all.length} members, more than the ${limits.members} a bundle may hold`);
      if (t.bytes > limits.unpackedBytes) refuse(`${t.bytes} bytes unpacked, more than the ${limits.unpackedBytes} a bundle may hold (serve.maxUnpackedMiB)`);
    },
  });
  parser.on('meta', (body: string) => {
    const p = paxProblem(body);
    if (p === 'sparse') t.sparse = true;
    if (p === 'unreadable') note('a pax header with a record tar reads otherwise (a value holding a newline, or a wrong length)');
  });
  parser.on('ignoredEntry', (e: tar.ReadEntry) => note(`${e.path}: a ${e.type} member (a bundle holds files, directories and links inside it)`));
  const input = await plainTar(file, {
    signal: stop.signal,
    onBytes: (n) =>
      n > limits.unpackedBytes + t.all.length * FRAMING_BYTES + END_BYTES && refuse(`a tar of ${n} bytes or more for its members, more than they may take`),
  });
  const ended = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
    parser.on('warn', (code: string, message: string) => (code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ENTRY_INVALID') && note(`not a tar archive: ${message}`));
    stop.signal.addEventListener('abort', () => resolve(), { once: true });
    input.stream.on('error', (err: Error) => (stop.signal.aborted ? resolve() : reject(err)));
  });
  input.stream.pipe(parser);
  await ended.catch((err: Error) => problems.push(`not a readable tar: ${err.message}`));
  const stopped = stop.signal.aborted;
  // a tar the parser gave up on leaves zstd writing to nobody: stop it in every case
  stop.abort(new Error('the check has ended'));
  if (!stopped) for (const p of linkProblems(t.all)) note(p);
  if (!problems.length && !t.recipes.size) problems.push('no recipe: a bundle holds <category>/<pkg>/build.sh directories');
  const plainBytes = input.bytes();
  if (problems.length) return { problems, plainBytes };
  const summary = { compression: await compressionOf(file), members: t.all.length, unpackedBytes: t.bytes, recipes: [...t.recipes].sort() };
  return { problems, plainBytes, summary };
}

/** checkBundle, throwing. @throws IgluError listing every problem */
export async function requireGoodBundle(file: string, limits: BundleLimits, what: string): Promise<BundleSummary> {
  const { summary, problems } = await checkBundle(file, limits);
  if (summary) return summary;
  throw new IgluError(`${what} is refused: ${problems.join('; ')}`, {
    hint: 'a bundle is a tar (plain, gzip or zstd) of <category>/<pkg>/ recipe directories with relative names, no devices, and links that stay inside it',
  });
}

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import * as tar from 'tar';
import { IgluError } from '../errors.js';

/** How a bundle is compressed, by its first bytes (gzip 1f 8b, zstd 28 b5 2f fd, else plain tar). */
export type Compression = 'gzip' | 'zstd' | 'none';

/** What a bundle may hold. */
export interface BundleLimits {
  /** The most its members may hold, bytes. */
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

/** One member as the check sees it (node-tar's ReadEntry, reduced). */
export interface Member {
  path: string;
  type: string;
  size: number;
  linkpath?: string;
}

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

/** The bundle as a plain tar stream: gunzip (node:zlib) or `zstd -dc` when compressed. */
export async function plainTar(file: string): Promise<Readable> {
  const c = await compressionOf(file);
  if (c === 'gzip') return createReadStream(file).pipe(createGunzip());
  if (c === 'zstd') return execa('zstd', ['-dc', '--', file], { stdout: 'pipe', buffer: false, reject: false, stderr: 'ignore' }).stdout;
  return createReadStream(file);
}

/** Member types a bundle may hold: files, directories, and links that stay inside it. */
const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/**
 * Why one member may not be in a bundle, or undefined when it may. A name must be
 * relative with no `..`; a symbolic link's target, read from the member's directory, and
 * a hard link's must stay inside the bundle; devices, FIFOs and other types are refused.
 * Pure.
 */
export function memberProblem(m: Member): string | undefined {
  const name = m.path;
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

/**
 * Reads a bundle's members (never unpacking it) and says what is wrong with it, all of
 * it: members that memberProblem refuses, more members or bytes than `limits`, a tar
 * that does not parse, or no `<category>/<pkg>/build.sh`.
 * @returns the summary, or the problems (each naming the member and the rule)
 */
export async function checkBundle(file: string, limits: BundleLimits): Promise<{ summary?: BundleSummary; problems: string[] }> {
  const problems: string[] = [];
  const recipes = new Set<string>();
  let members = 0;
  let bytes = 0;
  const parser = new tar.Parser({
    zstd: false,
    onReadEntry: (e) => {
      members += 1;
      bytes += e.size ?? 0;
      const m: Member = { path: e.path.replace(/^(\.\/)+/, ''), type: e.type, size: e.size ?? 0, ...(e.linkpath ? { linkpath: e.linkpath } : {}) };
      const problem = memberProblem(m);
      if (problem && problems.length < 20) problems.push(problem);
      const parts = m.path.split('/');
      if (parts.length === 3 && parts[2] === 'build.sh' && m.type !== 'Directory') recipes.add(`${parts[0]}/${parts[1]}`);
      e.resume();
    },
  });
  const ended = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
    parser.on('warn', (code: string, message: string) => {
      if (code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ENTRY_INVALID') problems.push(`not a tar archive: ${message}`);
    });
  });
  const input = await plainTar(file);
  input.on('error', (err: Error) => parser.emit('error', err));
  input.pipe(parser);
  await ended.catch((err: Error) => problems.push(`not a readable tar: ${err.message}`));
  if (members > limits.members) problems.push(`${members} members, more than the ${limits.members} a bundle may hold`);
  if (bytes > limits.unpackedBytes) problems.push(`${bytes} bytes unpacked, more than the ${limits.unpackedBytes} a bundle may hold (serve.maxUnpackedMiB)`);
  if (!problems.length && !recipes.size) problems.push('no recipe: a bundle holds <category>/<pkg>/build.sh directories');
  return problems.length
    ? { problems }
    : { problems, summary: { compression: await compressionOf(file), members, unpackedBytes: bytes, recipes: [...recipes].sort() } };
}

/** checkBundle, throwing. @throws IgluError listing every problem */
export async function requireGoodBundle(file: string, limits: BundleLimits, what: string): Promise<BundleSummary> {
  const { summary, problems } = await checkBundle(file, limits);
  if (summary) return summary;
  throw new IgluError(`${what} is refused: ${problems.join('; ')}`, {
    hint: 'a bundle is a tar (plain, gzip or zstd) of <category>/<pkg>/ recipe directories with relative names, no devices, and links that stay inside it',
  });
}

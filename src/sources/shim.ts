#!/usr/bin/env node
/**
 * The program behind the `curl`, `wget` and `git` shims that a recipe's fetch() finds
 * first on PATH, inside the fetch sandbox (no network): each download is asked of the
 * source broker on the host (broker.ts), which puts the URL's content into the source
 * cache and records it for the manifest; the shim copies it from the cache, which the
 * sandbox sees read-only. Local git subcommands run the real git.
 *
 * Environment: IGLU_BROKER (the broker's socket), IGLU_SOURCE_CACHE (the cache directory,
 * read-only), IGLU_SHIM_DIR (removed from PATH for git).
 * Exit: 0, or 1 with "iglu: …" and a hint on stderr.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { describe, IgluError } from '../errors.js';
import { askBroker } from './broker.js';
import { SourceCache } from './cache.js';
import { parseShim } from './shim-args.js';

async function main(tool: string, args: string[]): Promise<number> {
  const req = parseShim(tool, args);
  if (req.kind === 'unsupported')
    throw new IgluError(`${tool} ${args.join(' ')}: ${req.reason}`, { hint: 'recipes fetch release files with `curl -L URL -o FILE`' });
  if (req.kind === 'passthrough') {
    const shimDir = process.env.IGLU_SHIM_DIR ?? '';
    const PATH = (process.env.PATH ?? '')
      .split(':')
      .filter((p) => p && path.resolve(p) !== path.resolve(shimDir))
      .join(':');
    const res = await execa(tool, args, { env: { PATH }, stdio: 'inherit', reject: false });
    return res.exitCode ?? 1;
  }
  const cacheDir = process.env.IGLU_SOURCE_CACHE;
  const socket = process.env.IGLU_BROKER;
  if (!cacheDir || !socket)
    throw new IgluError(`${tool}: IGLU_SOURCE_CACHE or IGLU_BROKER is not set`, { hint: "the shim runs only inside iglu's fetch phase" });
  const cache = new SourceCache(cacheDir);
  for (const { url, output } of req.urls) {
    let dest = output;
    let scratch: string | undefined;
    if (output === '-') {
      scratch = await mkdtemp(path.join(os.tmpdir(), 'iglu-shim-'));
      dest = path.join(scratch, 'out');
    } else {
      await mkdir(path.dirname(path.resolve(dest)), { recursive: true });
    }
    try {
      const got = await askBroker(socket, url);
      if (!got.ok) throw new IgluError(got.error, { hint: got.hint });
      await copyFile(cache.blob(got.sha256), dest);
      if (scratch) await pipeline(createReadStream(dest), process.stdout, { end: false });
    } finally {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
  }
  return 0;
}

const [tool = '', ...args] = process.argv.slice(2);
main(tool, args).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const hint = err instanceof IgluError && err.hint ? `hint: ${err.hint}\n` : '';
    process.stderr.write(`iglu (${tool} shim): ${describe(err)}\n${hint}`);
    process.exitCode = 1;
  },
);

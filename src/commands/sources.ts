import path from 'node:path';
import type { Command } from 'commander';
import { makeContext, type GlobalOptions } from './context.js';
import { IgluError } from '../errors.js';
import { printResult } from '../output.js';
import { DEFAULT_TREE } from '../recipes/default-tree.js';
import { SourceCache } from '../sources/cache.js';
import { readSeed, seedFile, seedSources } from '../sources/seed.js';

/** `iglu sources import | list | verify | seed`: the checksummed source cache. */
export function registerSources(program: Command, globals: () => GlobalOptions): void {
  const sources = program.command('sources').description('the source cache: files fetched once, pinned by sha256, reused offline');
  registerSourcesImport(sources, globals);
  registerSourcesList(sources, globals);
  registerSourcesVerify(sources, globals);
  registerSourcesSeed(sources, globals);
}

function registerSourcesImport(sources: Command, globals: () => GlobalOptions): void {
  sources
    .command('import')
    .description('add a downloaded file to the cache as the content of a URL (seed a machine without internet)')
    .argument('<file>', 'the file, as downloaded from the URL')
    .requiredOption('--url <url>', 'the URL a recipe fetches it from')
    .option('--force', 're-pin a URL that is already pinned to other content')
    .addHelpText('after', '\nExample:\n  iglu sources import ~/Downloads/musl-1.2.3.tar.gz --url https://musl.libc.org/releases/musl-1.2.3.tar.gz\n')
    .action(async (file: string, flags: { url: string; force?: boolean }) => {
      const ctx = await makeContext(globals());
      const got = await SourceCache.of(ctx.workdir).import(flags.url, path.resolve(file), { force: flags.force });
      printResult(
        ctx.json,
        { url: flags.url, ...got },
        () => `${got.added ? 'pinned' : 'already pinned'} ${flags.url}\n  sha256 ${got.sha256}, ${got.size} bytes`,
      );
    });
}

function registerSourcesList(sources: Command, globals: () => GlobalOptions): void {
  sources
    .command('list')
    .description('every pinned URL with its sha256, size and whether the file is present')
    .addHelpText('after', "\nExample:\n  iglu sources list --json | jq -r '.sources[].url'\n")
    .action(async () => {
      const ctx = await makeContext(globals());
      const cache = SourceCache.of(ctx.workdir);
      const list = await cache.list();
      printResult(ctx.json, { cache: cache.dir, sources: list }, () =>
        list.length === 0
          ? `the source cache ${cache.dir} is empty`
          : list.map((s) => `${s.sha256.slice(0, 16)}  ${String(s.size).padStart(10)}  ${s.present ? '' : '(missing) '}${s.url}`).join('\n'),
      );
    });
}

function registerSourcesVerify(sources: Command, globals: () => GlobalOptions): void {
  sources
    .command('verify')
    .description('re-hash every cached file against its pin; exit 1 when one is missing or damaged')
    .action(async () => {
      const ctx = await makeContext(globals());
      const results = await SourceCache.of(ctx.workdir).verify();
      const bad = results.filter((r) => r.status !== 'ok');
      printResult(
        ctx.json,
        { ok: bad.length === 0, sources: results },
        () =>
          results.map((r) => `${r.status.padEnd(8)} ${r.url}${r.status === 'mismatch' ? ` (expected ${r.sha256}, got ${r.actual})` : ''}`).join('\n') ||
          'the source cache is empty',
      );
      if (bad.length)
        throw new IgluError(`${bad.length} of ${results.length} cached sources are missing or damaged`, {
          hint: 're-import a good copy: iglu sources import FILE --url URL --force',
        });
    });
}

function registerSourcesSeed(sources: Command, globals: () => GlobalOptions): void {
  sources
    .command('seed')
    .description("fill the cache offline from Debian's source archive, as the tree's sources.seed.yaml lists")
    .option('--tree <dir>', 'Iglunix-format package tree holding sources.seed.yaml', DEFAULT_TREE)
    .addHelpText('after', '\nNeeds a deb-src entry in apt (scripts/setup.sh adds one).\n\nExample:\n  iglu sources seed && iglu sources list\n')
    .action(async (flags: { tree: string }) => {
      const ctx = await makeContext(globals());
      const results = await seedSources(SourceCache.of(ctx.workdir), await readSeed(seedFile(flags.tree)), ctx.signal);
      printResult(ctx.json, { sources: results }, () =>
        results.map((r) => `${r.action.padEnd(8)} ${r.url}${r.upstream === 'repack' ? '  (Debian repack stands in)' : ''}`).join('\n'),
      );
    });
}

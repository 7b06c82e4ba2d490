/**
 * bench/startup: how long iglu takes to start, bundled (dist/bin/iglu.js, what `iglu` runs)
 * against tsc's output of the same sources (dist/src/cli.js, one module file at a time).
 * In turn, in one process, N rounds each: `iglu --version`, `iglu farm status` (needs a
 * Docker Engine; a farm need not be up), `iglu chroot plan` of the default tree, and with
 * `--workdir DIR` (a work directory whose default tree is built) a no-op `iglu chroot
 * build`. Prints each command's medians and the ratio bundled/unbundled (smaller is better).
 *
 *   node dist/bench/startup.js [--rounds N] [--workdir DIR]
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { CLI } from '../test/support/cli.js';
import { median } from './median.js';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const rounds = Number(option('--rounds') ?? '7');
const workdir = option('--workdir');
const UNBUNDLED = path.resolve(path.dirname(CLI), '../src/cli.js');

const commands: [string, string[]][] = [
  ['--version', ['--version']],
  ['farm status', ['farm', 'status']],
  ['chroot plan', ['chroot', 'plan']],
  ...(workdir ? [['chroot build (no-op)', ['--workdir', workdir, 'chroot', 'build']] as [string, string[]]] : []),
];

async function timed(cli: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await execa('node', [cli, ...args], { stdin: 'ignore', reject: false });
  if (r.exitCode !== 0) throw new Error(`iglu ${args.join(' ')} (${cli}) exited ${r.exitCode}: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

for (const [name, args] of commands) {
  const bundled: number[] = [];
  const unbundled: number[] = [];
  for (let i = 0; i < rounds; i++) {
    bundled.push(await timed(CLI, args));
    unbundled.push(await timed(UNBUNDLED, args));
  }
  const b = median(bundled);
  const u = median(unbundled);
  console.log(`${name.padEnd(22)} bundled ${b.toFixed(3)} s, unbundled ${u.toFixed(3)} s (medians of ${rounds}); bundled/unbundled ${(b / u).toFixed(2)}`);
}

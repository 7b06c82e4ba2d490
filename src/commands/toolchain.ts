import type { Command } from 'commander';
import { makeContext, type GlobalOptions } from './context.js';
import { formatCounts } from '../farm/distcc-log.js';
import { printResult } from '../output.js';
import { runSteps } from './progress.js';
import { DEFAULT_TREE } from '../recipes/default-tree.js';
import { keepGoingFailure } from '../pipeline/outcome.js';
import { toolchainResult, toolchainSteps, type ToolchainOptions, type ToolchainState } from '../phases/toolchain.js';

/** `iglu toolchain build`: the toolchain phase on the farm. */
export function registerToolchain(program: Command, globals: () => GlobalOptions): void {
  const toolchain = program.command('toolchain').description('the toolchain phase: packages compiled on the farm');
  toolchain
    .command('build')
    .description(
      'build toolchain packages in a client container on the overlay, compiles spread over the farm through distcc; writes out/<pkg>.<ver>.tar.zst and a JSON manifest',
    )
    .argument('[pkg...]', 'packages (default: toolchain.packages in iglu.yaml, musl)')
    .option('--tree <dir>', 'Iglunix-format package tree', DEFAULT_TREE)
    .option('--offline', 'never download: every source must be in the cache')
    .option('--local', 'compile in the client container without distcc (baseline)')
    .option('--rebuild', 'build the named packages (all, when none is named) even when up to date; their deps are rebuilt only when out of date')
    .option('--keep-going', 'go on past a failed package: its dependents are blocked, the others built; exit 1 at the end')
    .addHelpText(
      'after',
      '\nExamples:\n  iglu farm up && iglu sources seed && iglu toolchain build --offline\n  iglu toolchain build musl --json | jq .compiles\n',
    )
    .action(async (pkgs: string[], flags: { tree: string; offline?: boolean; local?: boolean; rebuild?: boolean; keepGoing?: boolean }) => {
      const ctx = await makeContext(globals());
      await ctx.workdir.secure();
      const opts: ToolchainOptions = {
        engine: await ctx.engine(),
        config: ctx.config,
        workdir: ctx.workdir,
        tree: flags.tree,
        packages: pkgs,
        offline: Boolean(flags.offline) || ctx.config.sources.offline,
        local: Boolean(flags.local),
        rebuild: Boolean(flags.rebuild),
        keepGoing: Boolean(flags.keepGoing),
        signal: ctx.signal,
      };
      const state: ToolchainState = { packages: [] };
      try {
        await runSteps(await toolchainSteps(opts, state), state);
      } finally {
        await state.client?.[Symbol.asyncDispose]();
      }
      const result = toolchainResult(opts, state);
      printResult(ctx.json, result, () =>
        [
          ...result.packages.map((p) => `${p.action.padEnd(10)} ${p.error?.split('\n')[0] ?? p.tarball}${p.compiles ? `  (${formatCounts(p.compiles)})` : ''}`),
          result.mode !== 'local' ? `compiles: ${formatCounts(result.compiles)}` : '',
          ...result.refused.map((r) => `warning: refused the task on ${r.node} (${r.ip}): ${r.reason}`),
        ]
          .filter(Boolean)
          .join('\n'),
      );
      const failure = keepGoingFailure(state.packages);
      if (failure) throw failure;
    });
}

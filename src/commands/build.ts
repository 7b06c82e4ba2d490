import { Option, type Command } from 'commander';
import { withChroot } from '../chroot/session.js';
import { makeContext, type GlobalOptions } from './context.js';
import { formatCounts } from '../farm/distcc-log.js';
import { printResult } from '../output.js';
import { runBuild } from '../phases/main-job.js';
import { DEFAULT_TREE } from '../recipes/default-tree.js';
import { checkRunnerFlags } from './arguments.js';
import { runSteps } from './progress.js';

/** `iglu build`: the whole job, from the farm to a booted Iglunix. */
export function registerBuild(program: Command, globals: () => GlobalOptions): void {
  /** Which of --spread and --no-spread were given (commander keeps only the last). */
  const spreadFlags = new Set<string>();
  program
    .command('build')
    .description('everything, end to end: farm image, farm up, sources seeded offline, toolchain phase on the farm, chroot phase, iglunix.img, boot under QEMU')
    .option('--tree <dir>', 'Iglunix-format package tree', DEFAULT_TREE)
    .option('--chroot-farm', 'compile the chroot phase through the farm too (chroot build --farm)')
    .option('--spread', "build the chroot phase's packages as swarm jobs over the farm (chroot build --spread; the default when iglu.yaml lists farm.nodes)")
    .option('--no-spread', "build the chroot phase's packages on this machine")
    .on('option:spread', () => spreadFlags.add('--spread'))
    .on('option:no-spread', () => spreadFlags.add('--no-spread'))
    .option('-k, --keep-going', 'the chroot phase builds every package it can past a failed one (chroot build --keep-going); then exit 1 before the image')
    .addOption(new Option('--firmware <kind>', 'how the final boot starts the kernel').choices(['efi', 'direct']).default('efi'))
    .addHelpText(
      'after',
      '\nExamples:\n  iglu build\n  iglu build --workdir /var/tmp/iglu --json | jq .boot\n  iglu build --chroot-farm --firmware direct\n  iglu build --tree ~/iglunix --keep-going\n',
    )
    .action(async (flags: { tree: string; chrootFarm?: boolean; firmware: 'efi' | 'direct'; keepGoing?: boolean; spread?: boolean }) => {
      checkRunnerFlags(spreadFlags, { farm: flags.chrootFarm, spread: flags.spread }, '--chroot-farm');
      const ctx = await makeContext(globals());
      // --chroot-farm builds here, compiling through the farm: never spread by default
      const spread = flags.chrootFarm ? false : spreadChoice(ctx, flags.spread);
      const r = await withChroot(ctx, 'iglu build', (paths) =>
        runBuild(
          ctx,
          paths,
          {
            tree: flags.tree,
            chrootFarm: Boolean(flags.chrootFarm),
            firmware: flags.firmware,
            keepGoing: Boolean(flags.keepGoing),
            spread,
          },
          (steps, state) => runSteps(steps, state, ctx.signal),
        ),
      );
      const built = (phase: string) => r.packages.some((p) => p.phase === phase && p.action === 'built');
      printResult(ctx.json, r, () =>
        [
          `image   ${r.image.file}`,
          `sha256  ${r.image.sha256}`,
          `boot    ${r.boot.status} (${r.boot.firmware}, ${r.boot.accel}, ${r.boot.secondsToLine} s): ${r.boot.line}`,
          `compiles, toolchain phase: ${built('toolchain') ? formatCounts(r.compiles.toolchain) : 'none: up to date'}`,
          `compiles, chroot phase: ${!built('chroot') ? 'none: up to date' : r.compiles.chroot === 'local' ? 'all local (--chroot-farm sends them to the farm)' : formatCounts(r.compiles.chroot)}`,
          `built   ${
            r.packages
              .filter((p) => p.action === 'built')
              .map((p) => `${p.name} (${p.seconds} s)`)
              .join(', ') || 'nothing: all up to date'
          }`,
          `took    ${r.seconds} s`,
        ].join('\n'),
      );
    });
}

/** --spread, --no-spread, or by default when iglu.yaml lists farm nodes (the farm then has several); says so when by default. */
function spreadChoice(ctx: { config: { farm: { nodes: unknown[] } } }, flag: boolean | undefined): boolean {
  if (flag !== undefined) return flag;
  if (!ctx.config.farm.nodes.length) return false;
  process.stderr.write(
    `iglu: the chroot phase spreads its packages over the farm's ${ctx.config.farm.nodes.length + 1} nodes (--no-spread builds them here)\n`,
  );
  return true;
}

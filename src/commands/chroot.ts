import path from 'node:path';
import type { Command } from 'commander';
import { makeContext, type GlobalOptions } from '../context.js';
import { printResult } from '../output.js';
import { planBuild } from '../recipes/plan.js';
import { DEFAULT_TREE } from '../recipes/default-tree.js';
import { readTree } from '../recipes/read.js';


/** `iglu chroot plan`: the build order over an Iglunix-format recipe tree. */
export function registerChroot(program: Command, globals: () => GlobalOptions): void {
  const chroot = program.command('chroot').description('the chroot phases over an Iglunix recipe tree');
  chroot
    .command('plan')
    .description('print the build order (dependencies first) for the selected packages and what they pull in')
    .argument('[pkg...]', 'packages to build (default: every recipe)')
    .option('--tree <dir>', 'Iglunix-format package tree (<category>/<pkg>/build.sh)', DEFAULT_TREE)
    .addHelpText('after', '\nExamples:\n  iglu chroot plan --tree ~/iglunix/pkgs busybox\n  iglu chroot plan --json | jq -r \'.order[]\'\n')
    .action(async (pkgs: string[], flags: { tree: string }) => {
      const ctx = await makeContext(globals());
      const recipes = await readTree(flags.tree);
      const plan = planBuild(recipes, pkgs, ctx.config.chroot.base);
      const version = new Map(recipes.map((r) => [r.name, `${r.pkgver}-${r.pkgrel}`]));
      printResult(ctx.json, { tree: path.resolve(flags.tree), recipes: recipes.length, ...plan }, () =>
        [...plan.order.map((n, i) => `${String(i + 1).padStart(3)}. ${n} ${version.get(n)}${plan.pulledIn.includes(n) ? '  (pulled in)' : ''}`),
          plan.fromBase.length ? `from the base sysroot: ${plan.fromBase.join(' ')}` : ''].filter(Boolean).join('\n'));
    });
}

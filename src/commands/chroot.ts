import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { asPlanned, keepGoingFailure, providedFrom, providedNames, type ChrootPackage } from '../phases/chroot.js';
import { prepareStep, runChrootBuild, type ChrootBuildRequest } from '../phases/chroot-run.js';
import { chrootEnv, RUNNER_BIND } from '../chroot/build-env.js';
import { workspaceView } from '../packages/workspace.js';
import { checkRunnerFlags, nonEmpty } from './arguments.js';
import { fetchSelected, type Fetched } from '../chroot/fetch.js';
import { runInRoot } from '../chroot/run.js';
import { withChroot } from '../chroot/session.js';
import { makeContext, type GlobalOptions } from './context.js';
import { terminal } from './interruption.js';
import { ExitCode, IgluError } from '../errors.js';
import { formatCounts } from '../farm/distcc-log.js';
import { printResult } from '../output.js';
import { runSteps } from './progress.js';
import { DEFAULT_TREE } from '../recipes/default-tree.js';
import { analysePlan, planBuild, planError } from '../recipes/plan.js';
import { readTree } from '../recipes/read.js';
import { recipeCacheOf } from '../recipes/read-cache.js';
import { spreadByDefault } from '../spread/farm.js';

const TREE = ['--tree <dir>', 'Iglunix-format package tree (<category>/<pkg>/build.sh)'] as const;

/** `iglu chroot plan | prepare | fetch | build | enter`: the chroot phases over an Iglunix recipe tree. */
export function registerChroot(program: Command, globals: () => GlobalOptions): void {
  const chroot = program.command('chroot').description('the chroot phases over an Iglunix recipe tree');
  registerPlan(chroot, globals);
  registerPrepare(chroot, globals);
  registerFetch(chroot, globals);
  registerBuild(chroot, globals);
  registerEnter(chroot, globals);
}

function registerPlan(chroot: Command, globals: () => GlobalOptions): void {
  chroot
    .command('plan')
    .description('print the build order (dependencies first) for the selected packages and what they pull in')
    .argument('[pkg...]', 'packages to build (default: every recipe)')
    .option(...TREE, DEFAULT_TREE)
    .addHelpText('after', "\nExamples:\n  iglu chroot plan --tree ~/iglunix/pkgs busybox\n  iglu chroot plan --json | jq -r '.order[]'\n")
    .action(async (pkgs: string[], flags: { tree: string }) => {
      const ctx = await makeContext(globals());
      const recipes = await readTree(flags.tree, undefined, recipeCacheOf(ctx.workdir));
      const provided = providedNames(ctx.config);
      const first = analysePlan(recipes, pkgs, provided);
      // chroot.sysroot planned: the order the build follows, once the plan has no problems
      const { problems, ...analysed } = first.problems.length ? first : analysePlan(asPlanned(ctx.config, recipes, pkgs), pkgs, provided);
      const plan = { ...analysed, ...providedFrom(ctx.config, analysed.fromBase) };
      const version = new Map(recipes.map((r) => [r.name, `${r.pkgver}-${r.pkgrel}`]));
      if (problems.length) {
        // --json: the problems go to stdout for scripts as well
        if (ctx.json) printResult(true, { tree: path.resolve(flags.tree), recipes: recipes.length, ...plan, problems }, () => '');
        throw planError(problems);
      }
      printResult(ctx.json, { tree: path.resolve(flags.tree), recipes: recipes.length, ...plan, problems }, () =>
        [
          ...plan.order.map((n, i) => `${String(i + 1).padStart(3)}. ${n} ${version.get(n)}${plan.pulledIn.includes(n) ? '  (pulled in)' : ''}`),
          plan.fromBase.length ? `provided (base sysroot or toolchain phase): ${plan.fromBase.join(' ')}` : '',
          ctx.config.chroot.sysroot === 'planned' ? 'chroot.sysroot planned: each package sees all the packages above it' : '',
          plan.fromBuildEnv.length
            ? `from the build environment (chroot.buildEnv): ${plan.fromBuildEnv.map((e) => `${e.name} (Debian ${e.debian})`).join(' ')}`
            : '',
          plan.gnuFromBuildEnv.length ? `GNU tools from the build environment (bad:): ${plan.gnuFromBuildEnv.join(' ')}` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
    });
}

function registerPrepare(chroot: Command, globals: () => GlobalOptions): void {
  chroot
    .command('prepare')
    .description("make the build root: the farm image's filesystem (or --base FILE), with the toolchain phase's packages in /sysroot; mounts nothing")
    .option('--base <file>', 'a root filesystem tarball (.tar, .tar.gz/.xz/.zst) instead of the farm image')
    .option('--fresh', 'start again from the base even when it is unchanged')
    .addHelpText('after', '\nExamples:\n  iglu chroot prepare\n  iglu chroot prepare --base iglunix-bootstrap.tar.zst --fresh\n')
    .action(async (flags: { base?: string; fresh?: boolean }) => {
      const ctx = await makeContext(globals());
      const result = await withChroot(ctx, 'iglu chroot prepare', (paths) => prepareStep(ctx, paths, flags, runSteps));
      printResult(
        ctx.json,
        result,
        () =>
          `${result.reused ? 'kept' : 'made'} ${result.root} from ${result.base.kind} ${result.base.ref}${result.installed.length ? `; installed ${result.installed.join(' ')} into ${result.sysroot}` : ''}`,
      );
    });
}

function registerFetch(chroot: Command, globals: () => GlobalOptions): void {
  chroot
    .command('fetch')
    .description("run the selected recipes' fetch() on the host through the source cache (idempotent; offline when the cache has everything)")
    .argument('[pkg...]', 'packages (default: every recipe the plan builds)')
    .option(...TREE, DEFAULT_TREE)
    .option('--offline', 'never download: every source must be in the cache')
    .addHelpText('after', '\nExamples:\n  iglu sources seed && iglu chroot fetch --offline\n  iglu chroot fetch busybox --json\n')
    .action(async (pkgs: string[], flags: { tree: string; offline?: boolean }) => {
      const ctx = await makeContext(globals());
      const recipes = await readTree(flags.tree, undefined, recipeCacheOf(ctx.workdir));
      const result = await withChroot(ctx, 'iglu chroot fetch', async () => {
        const plan = planBuild(recipes, pkgs, providedNames(ctx.config));
        const fetched: Fetched[] = [];
        await runSteps(fetchSelected(ctx, recipes, plan.order, Boolean(flags.offline) || ctx.config.sources.offline, fetched), {});
        return fetched;
      });
      printResult(ctx.json, { packages: result }, () =>
        result.map((p) => `${p.reused ? 'kept   ' : 'fetched'} ${p.name}: ${p.sources.map((s) => s.url).join(' ')}`).join('\n'),
      );
    });
}

function registerBuild(chroot: Command, globals: () => GlobalOptions): void {
  /** Which of --spread and --no-spread were given (commander keeps only the last). */
  const spreadFlags = new Set<string>();
  chroot
    .command('build')
    .description(
      'build the selected packages and what they need inside the build root (own mount namespace, no network), in plan order, installing each into /sysroot',
    )
    .argument('[pkg...]', 'packages (default: every recipe)')
    .option(...TREE, DEFAULT_TREE)
    .option('--base <file>', 'prepare the build root from this tarball (see chroot prepare)')
    .option('--offline', 'never download: every source must be in the cache')
    .option('--rebuild', 'build even when a package is up to date')
    .option('--farm', "compile through the farm's distccd tasks (runs in a container with CAP_SYS_ADMIN on the overlay)")
    .option('-k, --keep-going', 'a failed package does not stop those that do not need it; its dependents are reported blocked (exit 1 when any failed)')
    .option(
      '--spread',
      "build each package as a swarm job on whichever farm node has room, as many at a time as the farm has room for (critical path first), through the farm's package store (the default when the farm has more than one node)",
    )
    .option('--no-spread', 'build every package here, even on a farm of several nodes')
    .on('option:spread', () => spreadFlags.add('--spread'))
    .on('option:no-spread', () => spreadFlags.add('--no-spread'))
    .addHelpText(
      'after',
      "\nExamples:\n  iglu chroot build\n  iglu chroot build busybox --offline\n  iglu chroot build --tree ~/iglunix --keep-going --json | jq '.packages[] | select(.action != \"built\")'\n  iglu farm up && iglu chroot build --farm --json | jq .compiles\n  iglu chroot build --spread --json | jq -r '.packages[] | [.name, .node, .startedAt, .endedAt] | @tsv'\n",
    )
    .action(
      async (
        pkgs: string[],
        flags: { tree: string; base?: string; offline?: boolean; rebuild?: boolean; farm?: boolean; keepGoing?: boolean; spread?: boolean },
      ) => {
        checkRunnerFlags(spreadFlags, flags);
        const ctx = await makeContext(globals());
        const recipes = await readTree(flags.tree, undefined, recipeCacheOf(ctx.workdir));
        // --farm builds here, compiling through the farm: never spread by default
        const byDefault = flags.spread === undefined && !flags.farm ? await spreadByDefault(ctx) : 0;
        if (byDefault) process.stderr.write(`iglu: spreading the packages over the farm's ${byDefault} nodes (--no-spread builds them here)\n`);
        const spread = flags.spread ?? byDefault > 0;
        const request: ChrootBuildRequest = {
          tree: flags.tree,
          recipes,
          packages: pkgs,
          offline: Boolean(flags.offline) || ctx.config.sources.offline,
          rebuild: Boolean(flags.rebuild),
          keepGoing: Boolean(flags.keepGoing),
          farm: Boolean(flags.farm),
          spread,
          ...(flags.base ? { base: flags.base } : {}),
        };
        const result = await withChroot(ctx, `iglu chroot build ${pkgs.join(' ')}`.trim(), (paths) => runChrootBuild(ctx, paths, request, runSteps));
        printResult(ctx.json, result, () => result.packages.map(describePackage).join('\n'));
        const failure = keepGoingFailure(result.packages);
        if (failure) throw failure;
      },
    );
}

function registerEnter(chroot: Command, globals: () => GlobalOptions): void {
  chroot
    .command('enter')
    .description("open a shell (or run CMD) in the build root with the build's mounts and environment; they are released when it exits")
    .argument('[cmd...]', 'command to run instead of a shell (put it after --)')
    .option('--package <pkg>', "also show that package's workspace (kept after a failed build) and start in its srcdir", nonEmpty)
    .option(...TREE, DEFAULT_TREE)
    .addHelpText(
      'after',
      "\nExamples:\n  iglu chroot enter\n  iglu chroot enter -- sh -c '$CC -o /tmp/hi hi.c && /tmp/hi'\n  iglu chroot enter --tree ~/iglunix --package toybox\n",
    )
    .action(async (cmd: string[], flags: { package?: string; tree: string }) => {
      const ctx = await makeContext(globals());
      const view = flags.package
        ? await workspaceView(ctx.workdir, await readTree(flags.tree, undefined, recipeCacheOf(ctx.workdir)), flags.package)
        : undefined;
      const code = await withChroot(ctx, 'iglu chroot enter', async (paths) => {
        terminal.handsOff = true;
        try {
          // +m: no job control — the terminal's process groups belong to the namespace outside
          const env = { ...chrootEnv(availableParallelism()), ...(view?.env ?? {}), TERM: process.env.TERM ?? 'dumb', PS1: '(iglu chroot) # ' };
          return await runInRoot(paths, {
            argv: cmd.length ? cmd : ['/bin/sh', '-l', '+m'],
            env,
            binds: [RUNNER_BIND, ...(view?.binds ?? [])],
            cwd: view?.cwd,
            output: 'terminal',
          });
        } finally {
          terminal.handsOff = false;
        }
      });
      if (code !== 0) throw new IgluError(`the command in the chroot exited with ${code}`, { exitCode: code > 0 && code < 256 ? code : ExitCode.failure });
    });
}

/** One line of `chroot build`'s summary: the state, and the tarball, log or blockers. Pure. */
function describePackage(p: ChrootPackage): string {
  const what =
    p.action === 'failed'
      ? `${p.name}: ${p.error ?? ''} (log: ${p.log})`
      : p.action === 'blocked'
        ? `${p.name}: blocked by ${(p.blockedBy ?? []).join(', ')}`
        : `${p.tarball}${p.node ? ` (on ${p.node})` : ''}`;
  return `${p.action.padEnd(10)} ${what}${p.compiles ? `  (${formatCounts(p.compiles)})` : ''}`;
}

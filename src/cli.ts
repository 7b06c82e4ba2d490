#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import type { GlobalOptions } from './commands/context.js';
import { interruption, terminal } from './commands/interruption.js';
import { ExitCode, IgluError, describe, fileSystemError } from './errors.js';
import { commandWord } from './command-word.js';
import { IGLU_VERSION } from './layout/package-root.js';
import { log } from './log.js';

type Register = (program: Command, globals: () => GlobalOptions) => void;

/**
 * The top-level commands, in `--help` order, each loaded only when needed: a command's
 * module pulls in its whole implementation, and `iglu farm up` should not pay to load the
 * chroot, image and boot code (about 70 ms of a ~0.45 s start on this machine).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  doctor: async () => (await import('./commands/doctor.js')).registerDoctor,
  image: async () => (await import('./commands/image.js')).registerImage,
  farm: async () => (await import('./commands/farm.js')).registerFarm,
  sources: async () => (await import('./commands/sources.js')).registerSources,
  toolchain: async () => (await import('./commands/toolchain.js')).registerToolchain,
  chroot: async () => (await import('./commands/chroot.js')).registerChroot,
  boot: async () => (await import('./commands/boot.js')).registerBoot,
  build: async () => (await import('./commands/build.js')).registerBuild,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  submit: async () => (await import('./commands/serve.js')).registerServe,
  tasks: async () => (await import('./commands/serve.js')).registerServe,
};

/**
 * Builds the commander program with the commands registered from src/commands/: only the
 * one `argv` names when it names one of them, else all (help, --version, a typo: commander
 * then lists or suggests every command).
 */
export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('iglu')
    .description('Build Iglunix on a Docker Swarm distcc compile farm and boot it under QEMU')
    .version(IGLU_VERSION)
    .option('--workdir <dir>', 'work directory for all state (default: ./.iglu, or workdir: in iglu.yaml)')
    .option('--config <file>', 'config file (default: ./iglu.yaml when present)')
    .option('--docker-host <url>', 'Docker endpoint of the manager (default: docker.host in iglu.yaml, then DOCKER_HOST)')
    .option('--json', 'print results as JSON on stdout')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    .addHelpText(
      'after',
      '\nExamples:\n  iglu build                # everything: farm, toolchain, chroot, image, boot\n  iglu doctor\n  iglu image build\n  iglu farm up --replicas 3\n  iglu farm status --json\n  iglu farm down\n',
    );
  const globals = () => program.opts<GlobalOptions>();
  const word = commandWord(argv.slice(2));
  // `iglu --version` needs no command at all
  const versionOnly = word === undefined && argv.slice(2).some((a) => a === '--version' || a === '-V');
  const names = versionOnly ? [] : word !== undefined && Object.hasOwn(COMMANDS, word) ? [word] : Object.keys(COMMANDS);
  for (const register of new Set(await Promise.all(names.map((n) => COMMANDS[n]!())))) register(program, globals);
  // before anything else: release mounts, namespaces or containers a killed iglu left
  program.hook('preAction', async () => {
    const [{ makeContext }, { releaseBeforeAnything }] = await Promise.all([import('./commands/context.js'), import('./chroot/session.js')]);
    await releaseBeforeAnything(await makeContext(globals()));
  });
  return program;
}

/**
 * The one exit path: runs the program and maps every error to a message on stderr and
 * an exit code (0 success, 1 failure, 2 usage).
 */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  // `iglu … | head`: a closed pipe on stdout ends the program quietly, as for other Unix tools
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.ok);
    throw err;
  });
  // first SIGINT/SIGTERM: abort, so running work unwinds through its finally blocks and
  // removes what it made; a second one exits at once
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (sig === 'SIGINT' && terminal.handsOff) return;
      if (interruption.signal.aborted) process.exit(130);
      process.stderr.write(`iglu: ${sig}: stopping and cleaning up (again to quit at once)\n`);
      interruption.abort();
    });
  }
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    return report(err);
  }
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed help, version or the usage error
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  log.cli('%O', err);
  if (err instanceof IgluError) {
    process.stderr.write(`iglu: ${err.message}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
  const fs = fileSystemError(err);
  if (fs) {
    process.stderr.write(`iglu: ${fs.message}\nhint: ${fs.hint}\n`);
    return ExitCode.failure;
  }
  process.stderr.write(`iglu: unexpected error: ${describe(err)}\n(run with DEBUG=iglu:* for details)\n`);
  return ExitCode.failure;
}

process.exitCode = await main(process.argv);

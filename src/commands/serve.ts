import path from 'node:path';
import type { Command } from 'commander';
import { ExitCode, IgluError } from '../errors.js';
import { printResult } from '../output.js';
import { ServePaths } from '../layout/serve-paths.js';
import { bundleBytes, followLog, listTasks, submitTask, call, type ServerRef } from '../serve/client.js';
import { startService } from '../serve/server.js';
import type { Task } from '../serve/task.js';
import { TaskDb } from '../serve/task-db.js';
import { addToken } from '../serve/tokens.js';
import { makeContext, type GlobalOptions } from './context.js';
import { interruption } from './interruption.js';

/** `iglu serve` (and its tokens), `iglu submit`, `iglu tasks`: the farm as a build service and its client. */
export function registerServe(program: Command, globals: () => GlobalOptions): void {
  const serve = program
    .command('serve')
    .description('run the build service in the foreground: a REST API (aoinb paths), a queue directory, tasks built over the farm')
    .option('--listen <host:port>', 'where the API listens (default: serve.listen, 127.0.0.1:7373)')
    .option('--queue <dir>', 'queue directory: a bundle closed there becomes a task on main (default: WORKDIR/serve/queue)')
    .option('--done <dir>', 'where finished bundles go, with NAME.status.json and NAME.log (default: WORKDIR/serve/done)')
    .addHelpText(
      'after',
      `
Examples:
  iglu farm up && iglu serve
  TOKEN=$(iglu serve token add alice --scope submit)
  iglu submit ./my-recipes --server http://127.0.0.1:7373 --token "$TOKEN" --follow
  cp fix-zlib.tar.gz .iglu/serve/queue/

The service speaks plain HTTP on loopback. To reach it from other machines, put a TLS
proxy in front of it (e.g. nginx or Caddy with your certificate, proxying to 127.0.0.1:7373
with buffering off for /task/*/log), and keep --listen on loopback. Ctrl-C stops taking
work; running builds go on and the next start follows them.
`,
    )
    .action(async (flags: { listen?: string; queue?: string; done?: string }) => {
      const g = globals();
      const ctx = await makeContext(g);
      const paths = new ServePaths(ctx.workdir);
      const say = (line: string) => process.stderr.write(`iglu serve: ${line}\n`);
      const running = await startService(ctx, {
        listen: flags.listen ?? ctx.config.serve.listen,
        queueDir: path.resolve(flags.queue ?? paths.queue),
        doneDir: path.resolve(flags.done ?? paths.done),
        buildArgv: (tree, packages) => [
          process.execPath,
          process.argv[1]!,
          ...globalArgs(g, ctx.workdir.root),
          '--json',
          'chroot',
          'build',
          '--spread',
          '--keep-going',
          '--tree',
          tree,
          ...packages,
        ],
        say,
      });
      say(`listening on ${running.url} (queue: ${path.resolve(flags.queue ?? paths.queue)}; Ctrl-C stops taking work)`);
      await new Promise((resolve) => interruption.signal.addEventListener('abort', resolve, { once: true }));
      await running[Symbol.asyncDispose]();
      say('stopped; builds still running are followed by the next start');
    });
  registerTokens(serve, globals);
  registerClient(program);
}

/** The global options a task's build runs with: this service's work directory, config and engine. */
function globalArgs(g: GlobalOptions, workdir: string): string[] {
  return ['--workdir', workdir, ...(g.config ? ['--config', path.resolve(g.config)] : []), ...(g.dockerHost ? ['--docker-host', g.dockerHost] : [])];
}

function registerTokens(serve: Command, globals: () => GlobalOptions): void {
  const token = serve.command('token').description("the service's bearer tokens (stored as sha256 hashes only)");
  const withDb = async <T>(work: (db: TaskDb) => T): Promise<T> => {
    const ctx = await makeContext(globals());
    const db = new TaskDb(new ServePaths(ctx.workdir).db);
    try {
      return work(db);
    } finally {
      db.close();
    }
  };
  token
    .command('add')
    .description('make a token and print it, alone, on stdout (it is not shown again)')
    .argument('<name>', 'who it is for: tasks it creates are owned by this name')
    .option('--scope <scope>', 'read (see everything), submit (create, see and cancel its own tasks) or admin', 'submit')
    .addHelpText('after', '\nExamples:\n  iglu serve token add ci --scope submit\n  iglu serve token add grafana --scope read\n')
    .action(async (name: string, flags: { scope: string }) => {
      const secret = await withDb((db) => addToken(db, name, flags.scope));
      process.stdout.write(`${secret}\n`);
    });
  token
    .command('list')
    .description('the tokens: name, scope, when made (never the secret)')
    .action(async () => {
      const rows = await withDb((db) => db.tokens().map(({ name, scope, createdAt }) => ({ name, scope, createdAt })));
      printResult(Boolean(globals().json), { tokens: rows }, () => rows.map((r) => `${r.name.padEnd(20)} ${r.scope.padEnd(7)} ${r.createdAt}`).join('\n'));
    });
  token
    .command('revoke')
    .description('remove a token: requests with it get 401 from now on')
    .argument('<name>')
    .action(async (name: string) => {
      if (!(await withDb((db) => db.revokeToken(name)))) throw new IgluError(`no token named ${name}`, { hint: 'iglu serve token list shows them' });
    });
}

function serverOf(flags: { server?: string; token?: string }): ServerRef {
  const token = flags.token ?? process.env.IGLU_TOKEN;
  if (!token) throw new IgluError('no token', { hint: 'give --token or set IGLU_TOKEN (iglu serve token add NAME makes one)', exitCode: ExitCode.usage });
  return { url: flags.server ?? process.env.IGLU_SERVER ?? 'http://127.0.0.1:7373', token };
}

function registerClient(program: Command): void {
  program
    .command('submit')
    .description('send recipes to a build service as a task: packs DIR (or sends BUNDLE), creates the task, queues it and prints its id')
    .argument('<dir-or-bundle>', 'a directory of <category>/<pkg>/ recipes, or a bundle (.tar, .tar.gz, .tar.zst)')
    .option('--server <url>', 'the service (default: IGLU_SERVER, then http://127.0.0.1:7373)')
    .option('--token <token>', 'bearer token (default: IGLU_TOKEN)')
    .option('--branch <branch>', 'the branch the recipes build upon (default: main)')
    .option('--priority <n>', 'higher first among your tasks (above 0: admin tokens)', (v) => Number(v))
    .option('--follow', "stream the task's log and exit with its result (0 done, 1 failed or cancelled)")
    .addHelpText('after', '\nExamples:\n  iglu submit ./recipes --follow\n  iglu submit fix.tar.zst --branch main --json | jq -r .id\n')
    .action(async (what: string, flags: { server?: string; token?: string; branch?: string; priority?: number; follow?: boolean }, cmd: Command) => {
      const s = serverOf(flags);
      const json = Boolean(cmd.optsWithGlobals<GlobalOptions>().json);
      const task = await submitTask(s, {
        bundle: await bundleBytes(what),
        ...(flags.branch ? { branch: flags.branch } : {}),
        ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
      });
      if (!flags.follow) return printResult(json, task, () => task.id);
      process.stderr.write(`iglu: task ${task.id} queued; following its log\n`);
      await followLog(s, task.id, (t) => process.stderr.write(t), interruption.signal);
      const final = await call<Task>(s, 'GET', `/task/${task.id}/status`);
      printResult(json, final, () => `${final.id} ${final.state}${final.reason ? `: ${final.reason}` : ''}`);
      if (final.state !== 'done')
        throw new IgluError(`task ${final.id} ${final.state}${final.reason ? `: ${final.reason}` : ''}`, {
          hint: `GET /task/${final.id}/status has each package's state`,
        });
    });
  program
    .command('tasks')
    .description("a build service's tasks (yours, with a submit token)")
    .option('--server <url>', 'the service (default: IGLU_SERVER, then http://127.0.0.1:7373)')
    .option('--token <token>', 'bearer token (default: IGLU_TOKEN)')
    .option('--state <state>', 'only tasks in this state (queued, building, done, …)')
    .addHelpText('after', "\nExamples:\n  iglu tasks\n  iglu tasks --state failed --json | jq -r '.tasks[].id'\n")
    .action(async (flags: { server?: string; token?: string; state?: string }, cmd: Command) => {
      const tasks = await listTasks(serverOf(flags), flags.state);
      printResult(Boolean(cmd.optsWithGlobals<GlobalOptions>().json), { tasks }, () =>
        tasks
          .map(
            (t) =>
              `${t.id}  ${t.state.padEnd(9)} ${t.owner.padEnd(12)} ${t.branch.padEnd(8)} ${t.packages.map((p) => p.name).join(' ')}${t.reason ? `  (${t.reason})` : ''}`,
          )
          .join('\n'),
      );
    });
}

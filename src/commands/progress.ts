import { Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2';
import type { Step } from '../steps.js';
import { abortable, interrupted } from '../util/abort.js';
import { interruption } from './interruption.js';

/**
 * Runs steps in order with listr2 progress on stderr: the default renderer on a TTY,
 * the plain "simple" renderer when stdout or stderr is not a TTY (pipes, CI, --json).
 * A step's return string replaces its title when it finishes (e.g. "3 tasks running").
 * The first Ctrl-C (`signal`, by default the process's interruption) ends the running
 * step at once with an "interrupted" error (exit 130), so the caller's rollback and
 * finally blocks run now, not when the step would have ended (a readiness wait, an
 * image build, seeding, image assembly).
 * @returns the context after all steps
 * @throws the first step's error, after the renderer has shown it failed
 */
export async function runSteps<C extends object>(steps: Step<C>[], ctx: C, signal: AbortSignal = interruption.signal): Promise<C> {
  // progress goes to stderr only: stdout carries results (and --json)
  const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
  const one = (step: Step<C>): ListrTask<C> => ({
    title: step.title,
    skip: step.skip ? (c: C) => step.skip!(c) : undefined,
    ...(step.keepGoing ? { exitOnError: false } : {}),
    task: async (c, task) => {
      // a step that has not started yet never starts after Ctrl-C
      if (signal.aborted) throw interrupted(step.title);
      const title = await abortable(
        step.run(c, (line) => (task.output = line)),
        signal,
        step.title,
      );
      if (title) task.title = `${step.title}: ${title}`;
    },
  });
  const tasks: ListrTask<C>[] = [];
  for (let i = 0; i < steps.length;) {
    const group = steps[i]!.group;
    if (!group) {
      tasks.push(one(steps[i++]!));
      continue;
    }
    const members: Step<C>[] = [];
    while (i < steps.length && steps[i]!.group === group) members.push(steps[i++]!);
    tasks.push({
      title: group,
      exitOnError: false,
      task: (_c, task) =>
        task.newListr(
          members.map((m) => ({ ...one(m), exitOnError: false })),
          { concurrent: true, exitOnError: false },
        ),
    });
  }
  const list = new Listr<C, 'default', 'simple'>(tasks, {
    ctx,
    exitOnError: true,
    registerSignalListeners: false,
    rendererOptions: { logger, collapseErrors: false, showErrorMessage: false },
    fallbackRenderer: 'simple',
    fallbackRendererOptions: { logger },
    fallbackRendererCondition: () => !process.stdout.isTTY || !process.stderr.isTTY,
  });
  const done = await list.run();
  // steps that keep going past a failure (--keep-going) also end on Ctrl-C: never report success then
  if (signal.aborted) throw interrupted(steps.map((st) => st.title).find(Boolean) ?? 'iglu');
  return done;
}

/**
 * One step of a phase's progress, as domain code gives it: a title, the work, and
 * `output` for a line under the title. Only src/commands turns steps into listr2 tasks
 * (commands/progress.ts: runSteps).
 */
export interface Step<C> {
  title: string;
  run(ctx: C, output: (line: string) => void): Promise<string | void>;
  /** Skip the step when this returns a reason. */
  skip?(ctx: C): string | false;
  /** A failure of this step is shown as failed, and the steps after it still run (--keep-going). */
  keepGoing?: boolean;
  /**
   * Consecutive steps with the same group run at the same time, as sub-steps of one step
   * titled by the group (the spread chroot build: one line per package); a failed one
   * never stops the others (they order themselves).
   */
  group?: string;
}

/**
 * Steps over a part of a bigger context: each runs with `pick(ctx)` as its own context,
 * so one pipeline (`iglu build`) can chain the steps of several commands.
 */
export function nest<C, S>(steps: Step<S>[], pick: (c: C) => S, prefix = ''): Step<C>[] {
  return steps.map((s) => ({
    title: `${prefix}${s.title}`,
    run: (c: C, output: (line: string) => void) => s.run(pick(c), output),
    ...(s.skip ? { skip: (c: C) => s.skip!(pick(c)) } : {}),
    ...(s.keepGoing ? { keepGoing: true } : {}),
    ...(s.group ? { group: `${prefix}${s.group}` } : {}),
  }));
}

/**
 * Runs steps in order and shows their progress: the CLI passes runSteps (listr2), a test
 * or a service its own. @returns the context after all steps @throws the first step's error
 */
export type StepRunner = <C extends object>(steps: Step<C>[], ctx: C) => Promise<C>;

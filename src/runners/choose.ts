import type { ChrootPaths } from '../layout/chroot-paths.js';
import type { RunContext } from '../run-context.js';
import { spreadFarm, type SpreadFarm } from '../spread/farm.js';
import { localRunner, type BuildRootRunner } from './build-root.js';
import { farmRunner } from './farm-root.js';

/** Where the chroot phase's packages build, chosen once for a run; dispose it to remove what it made (the --farm container, leftover jobs). */
export interface ChrootRunners extends AsyncDisposable {
  mode: 'local' | 'farm' | 'spread';
  /** The build root here, or in a container on the farm (--farm). */
  runner: BuildRootRunner;
  /** --spread: the farm the packages spread over as swarm jobs. */
  spread?: SpreadFarm;
}

/**
 * The one place the chroot phase's runner is chosen: a swarm job per package (`spread`),
 * the build root in a container on the farm's overlay (`farm`), or the build root here.
 * @param trees host directories holding recipes (bind-mounted into the --farm container)
 * @throws IgluError from farmRunner or spreadFarm (no farm up, no ready node, …)
 */
export async function openChrootRunners(ctx: RunContext, paths: ChrootPaths, o: { farm: boolean; spread: boolean; trees: string[] }): Promise<ChrootRunners> {
  const runner = o.farm && !o.spread ? await farmRunner(ctx, paths, o.trees) : localRunner(paths);
  let spread: (SpreadFarm & AsyncDisposable) | undefined;
  try {
    spread = o.spread ? await spreadFarm(ctx) : undefined;
  } catch (err) {
    await runner[Symbol.asyncDispose]();
    throw err;
  }
  return {
    mode: spread ? 'spread' : runner.mode,
    runner,
    ...(spread ? { spread } : {}),
    async [Symbol.asyncDispose]() {
      try {
        await spread?.[Symbol.asyncDispose]();
      } finally {
        await runner[Symbol.asyncDispose]();
      }
    },
  };
}

import type { RefusedTask } from '../farm/verify.js';
import type { CompileCounts } from '../packages/manifest.js';
import type { PackageWorkspace } from '../packages/workspace.js';
import type { RecipeMeta } from '../recipes/read.js';
import type { BuildLimits } from '../sandbox/limits.js';
import type { JobUsage } from '../spread/job-spec.js';

/**
 * The seam of the package pipeline (pipeline/package-build.ts): where a recipe's build()
 * and package() run. One implementation per place — the build root on this host
 * (runners/build-root.ts, also in a container on the farm's overlay with --farm), the
 * toolchain phase's client container (runners/toolchain-client.ts), a swarm job
 * (runners/swarm-job.ts). Adding a place is one new file that implements PackageRunner;
 * everything else (the up-to-date rule, fetch, sysroot, pack, store, install) is the
 * pipeline's.
 */
export interface PackageRunner {
  /** What manifests record as build.where: the chroot phase's runners "chroot", the toolchain phase's "farm". */
  readonly where: 'chroot' | 'farm';
  /** The -j a build gets. */
  readonly jobs: number;
  /** Farm tasks left out of this run's builds: their compilers did not make this runner's objects (farm/verify.ts). */
  readonly refused?: RefusedTask[];
  /** A farm task's node name by its overlay address, for the compile counts' line. */
  nodeOf?: (ip: string) => string | undefined;
  /**
   * Runs `iglupkg.sh bp` (build() and package()) on a fetched workspace with its sysroot,
   * its output appended to `job.logFile`, and leaves the packages' directories in the
   * host directory it returns (`outRoot`).
   * @returns how it ran; undefined when another run holds a claim on the same inputs
   *   (a swarm job's name): the pipeline attaches to that run instead
   * @throws IgluError for a failed build (the log's tail) or a runner that cannot start
   */
  run(job: RunnerJob): Promise<RunnerResult | undefined>;
}

/** One build handed to a runner. */
export interface RunnerJob {
  recipe: RecipeMeta;
  ws: PackageWorkspace;
  /**
   * The package's sysroot: a host directory (chroot phase), the tarballs it is made of in
   * install order (a runner that cannot see the host installs them itself), and their
   * packages' names and versions for the progress line.
   */
  sysroot: {
    dir?: string;
    tarballs: string[];
    names?: string[];
    /**
     * The kernel UAPI header directories the runner adds from its own image's
     * usr/include ([from, to] under usr/include), left out of `dir`: a swarm job runs the
     * image the build root was made from, so they are the same files, and a job's bundle
     * need not carry them (about a thousand files, 8 MB).
     */
    headersFromImage?: [string, string][];
  };
  /** The build's inputs hash (packages/inputs.ts). */
  inputs: string;
  logFile: string;
  /** A line of progress under the package's step. */
  output: (line: string) => void;
  /** Runs host-side work one package at a time where packages build at once (a spread build). */
  hostSide: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The package's place in the queue for the farm's room: its longest remaining chain, seconds. */
  priority: number;
  /** What the build may use: the runner applies memory, processes and /tmp's size; the wall time is the pipeline's (`signal`). */
  limits: BuildLimits;
  /** Ends the build and everything it started: the run's end (Ctrl-C) or the wall-time limit. */
  signal?: AbortSignal;
}

/** How a runner's build went. */
export interface RunnerResult {
  /** The host directory holding `<name>.<pkgver>` for every output. */
  outRoot: string;
  /** Compile jobs by where they ran (farm runners); null when every compile was local. */
  compiles: CompileCounts | null;
  /** A swarm job: the node it ran on, when (ISO times), tries, and what it used. */
  node?: string;
  startedAt?: string;
  endedAt?: string;
  attempts?: number;
  usage?: JobUsage;
  /** Releases what holds the build's claim (a swarm job's service) once its package is stored or has failed. */
  release: () => Promise<void>;
}

import { readFileSync } from 'node:fs';
import { LABEL, labelsFor } from '../labels.js';
import type { ServiceSpec } from '../docker/index.js';
import { OWNER_LABEL } from '../util/owner.js';
import type { BuildLimits } from '../sandbox/limits.js';
import path from 'node:path';
import { CHROOT_SCRIPTS } from '../layout/in-root.js';

/**
 * The most processes a job's container may hold (Engine API 1.41 ResourceRequirements
 * Limits.Pids: the container's pids cgroup): a fork bomb stops there, far below the
 * host's pid_max, while `make -j` of a large package stays well under it.
 */
export const JOB_PIDS = 4096;

/** Labels a job's service carries so a leftover's store files can be found (spread/leftovers.ts): its staging token and bundle. */
export const JOB_TOKEN_LABEL = 'iglu.token';
export const JOB_BUNDLE_LABEL = 'iglu.bundle';

/** chroot/spread-job.sh: what a package job's container runs. */
export const JOB_SCRIPT = readFileSync(path.join(CHROOT_SCRIPTS, 'spread-job.sh'), 'utf8');

/** One package build as a swarm job. */
export interface PackageJob {
  farm: string;
  /** The recipe's pkgname. */
  pkg: string;
  /** The package's inputs hash: a second run with the same one attaches instead of building. */
  inputs: string;
  /** 1 for the first try, then 2, 3 … after a lost node. */
  attempt: number;
  /** The farm image's ID (every node has it: farm up puts it there). */
  image: string;
  network: string;
  /** The job script's environment (IGLU_STORE, IGLU_BUNDLE, IGLU_TOKEN, IGLU_RECIPE_DIR, IGLU_UID). */
  env: Record<string, string>;
  /** CPUs the swarm reserves for it on its node (NanoCPUs / 1e9). */
  cpus: number;
  /** What the build may use: the container's memory and pids, its /tmp's size (a tmpfs); default JOB_PIDS processes, no memory limit. */
  limits?: Pick<BuildLimits, 'memoryMiB' | 'processes' | 'tmpMiB' | 'logMiB'>;
  /** The process that submits it (util/owner.ts ownerOf): a job whose owner is gone is a leftover. */
  owner?: string;
}

/**
 * The job's service name: `iglu-<farm>-build-<pkg>-<inputs' first 12 hex digits>-<attempt>`,
 * the front cut so it fits the Engine's 63 characters. Two runs building the same inputs
 * ask for the same name and the swarm lets only one have it (ServicesClient.claim): the
 * other attaches. Pure.
 */
export function jobName(job: Pick<PackageJob, 'farm' | 'pkg' | 'inputs' | 'attempt'>): string {
  const safe = job.pkg.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const tail = `-${job.inputs.slice(0, 12)}-${job.attempt}`;
  return `iglu-${job.farm}-build-${safe}`.slice(0, 63 - tail.length) + tail;
}

/** What a job's node and iglu keep of its output when iglu.yaml says nothing (limits.logMiB's default), MiB. */
export const JOB_LOG_MIB = 64;

/** The MiB of a job's output its node and iglu keep: limits.logMiB. Pure. */
export function jobLogMiB(l: PackageJob['limits']): number {
  return l?.logMiB ?? JOB_LOG_MIB;
}

/** A job container's resource limits (Engine API "ResourceRequirements": memory in bytes, pids a count). Pure. */
function jobLimits(l: PackageJob['limits']): { MemoryBytes?: number; Pids: number } {
  return l ? { MemoryBytes: l.memoryMiB * 1024 * 1024, Pids: l.processes } : { Pids: JOB_PIDS };
}

/**
 * Each process's address space for the job script's prlimit (RLIMIT_AS, as the sandbox's
 * elsewhere: sandbox/limits.ts), so a build past it fails as it would in any runner; the
 * container's memory limit bounds the whole job besides. Pure.
 */
function memoryEnv(l: PackageJob['limits']): string[] {
  return l ? [`IGLU_MEMORY_BYTES=${l.memoryMiB * 1024 * 1024}`] : [];
}

/**
 * The Engine API ServiceSpec (API 1.41) of one package build: a replicated job
 * (`Mode.ReplicatedJob`, one completion: the task runs once to its exit) from the farm
 * image on the farm's overlay, reserving `cpus` so the swarm places it only on a node with
 * room (Engine API "ResourceRequirements"; swarm's scheduler spreads tasks over the
 * least-loaded nodes), never restarted by the swarm (a failed build stays failed; iglu
 * resubmits only after a lost node). Labels: iglu's, role "build", iglu.pkg, iglu.inputs,
 * the owner process (sweepDeadJobs), and the staging token and bundle its store files go by. Pure.
 */
export function jobServiceSpec(job: PackageJob): ServiceSpec {
  const store = {
    ...(job.env.IGLU_TOKEN ? { [JOB_TOKEN_LABEL]: job.env.IGLU_TOKEN } : {}),
    ...(job.env.IGLU_BUNDLE ? { [JOB_BUNDLE_LABEL]: job.env.IGLU_BUNDLE } : {}),
  };
  const labels = labelsFor('build', job.farm, { 'iglu.pkg': job.pkg, 'iglu.inputs': job.inputs, ...store, ...(job.owner ? { [OWNER_LABEL]: job.owner } : {}) });
  return {
    Name: jobName(job),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: job.image,
        Command: ['/bin/sh', '-c', JOB_SCRIPT],
        // the node's name for the log (a service template, Engine API "ContainerSpec");
        // the hostname stays fixed, as in the local build root, so no build records its node
        Env: [...Object.entries(job.env).map(([k, v]) => `${k}=${v}`), ...memoryEnv(job.limits), 'IGLU_NODE={{.Node.Hostname}}'],
        Hostname: 'iglu-chroot',
        Labels: { ...labels, [LABEL.spec]: `job:${job.pkg}` },
        Init: true,
        // for the job script alone (root): a network namespace with only lo for the build
        // (unshare(2) needs CAP_SYS_ADMIN, bringing lo up CAP_NET_ADMIN); the build itself
        // runs as the sandbox uid with every capability dropped (chroot/spread-job.sh) and under
        // a seccomp filter against new user namespaces (chroot/no-userns), which Docker's
        // profile allows every process of a container with CAP_SYS_ADMIN
        CapabilityAdd: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'],
        // the build's /tmp, bounded as the sandbox's is elsewhere (limits.tmpMiB)
        ...(job.limits
          ? { Mounts: [{ Type: 'tmpfs' as const, Source: '', Target: '/tmp', TmpfsOptions: { SizeBytes: job.limits.tmpMiB * 1024 * 1024, Mode: 0o1777 } }] }
          : {}),
      },
      Resources: { Reservations: { NanoCPUs: Math.round(job.cpus * 1e9) }, Limits: jobLimits(job.limits) },
      RestartPolicy: { Condition: 'none' },
      Networks: [{ Target: job.network }],
      // the node keeps at most two files of logMiB (json-file, rotated): 1 GiB of output made a 1.6 GB log
      LogDriver: { Name: 'json-file', Options: { 'max-size': `${jobLogMiB(job.limits)}m`, 'max-file': '2' } },
    },
    Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
  };
}

/** What a job reports of its resource use (chroot/spread-job.sh's last `iglu-job-usage:` line). */
export interface JobUsage {
  exit: number;
  /** CPU time of the job's container (cgroup cpu.stat usage_usec or cpuacct.usage), seconds. */
  cpuSeconds: number;
  wallSeconds: number;
  /** The container's peak memory (memory.peak or memory.max_usage_in_bytes), bytes. */
  peakMemoryBytes: number;
  /** The workspace after the build (du), bytes. */
  diskBytes: number;
}

/**
 * The last usage line in a job's log, or undefined. The job prints it after the build's
 * processes are killed, but the log is the build's output too: the figures are for
 * display and scheduling, never for a decision that matters. Pure.
 */
export function parseUsage(log: string): JobUsage | undefined {
  const lines = log.split('\n').filter((l) => l.startsWith('iglu-job-usage: '));
  const last = lines.at(-1);
  if (!last) return undefined;
  try {
    const u = JSON.parse(last.slice('iglu-job-usage: '.length)) as Record<string, unknown>;
    const num = (k: string) => (typeof u[k] === 'number' && Number.isFinite(u[k]) ? u[k] : 0);
    return {
      exit: num('exit'),
      cpuSeconds: num('cpuSeconds'),
      wallSeconds: num('wallSeconds'),
      peakMemoryBytes: num('peakMemoryBytes'),
      diskBytes: num('diskBytes'),
    };
  } catch {
    return undefined;
  }
}

import { createReadStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine, TaskInfo } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { log } from '../log.js';
import { interrupted } from '../util/abort.js';
import { LABEL } from '../labels.js';
import { OWNER_LABEL, ownerGoneHere } from '../util/owner.js';
import { CappedLog } from '../util/capped-log.js';
import { JOB_LOG_MIB, jobLogMiB, jobName, jobServiceSpec, parseUsage, type JobUsage, type PackageJob } from './job-spec.js';

/** Where and how a package job ran. */
export interface JobRun {
  /** The build's exit status (the task container's exit code). */
  code: number;
  /** The swarm node's hostname the last try ran on. */
  node: string;
  /** When its task was first seen running, and seen ended (ISO times, this host's clock). */
  startedAt: string;
  endedAt: string;
  /** 1, or more when a node was lost under it or the swarm rejected it. */
  attempts: number;
  usage?: JobUsage;
  /**
   * Removes the job's service and task containers. The caller holds them until the
   * package is stored (or has failed): while the service is there, a second run with the
   * same inputs attaches to it (attachJob) instead of building again.
   */
  release: () => Promise<void>;
}

/** How runJob runs a job. */
export interface JobOptions {
  logFile: string;
  /** Tries after a lost one. */
  retries: number;
  /** Tries after a rejected one (JOB_REJECTIONS), and the wait before the first of them in ms (1000; doubled each time). */
  rejections?: number;
  rejectionBackoffMs?: number;
  signal?: AbortSignal;
  onNode?: (node: string) => void;
  pollMs?: number;
  /**
   * Engines iglu reaches (the manager's, farm.nodes'): the swarm leaves a completed job's
   * task container behind when its service is removed (Docker 20.10), so iglu removes it
   * where it can.
   */
  engines?: Engine[];
}

/** Task states after which a job's task never runs again (Engine API "TaskState"). */
const ENDED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

/** Tries a job gets after the swarm rejected it (taskOutcome "rejected"), counted apart from the tries after a lost node. */
export const JOB_REJECTIONS = 5;

/** A job's newest task, as runJob sees it (taskOutcome). */
export type TaskOutcome =
  { kind: 'waiting' | 'running' } | { kind: 'exited'; code: number } | { kind: 'lost'; why: string } | { kind: 'rejected'; why: string };

/**
 * What a job's newest task says: still going, ended with an exit code, rejected (the
 * swarm's scheduler or the node refused it before it ran: "assigned node no longer meets
 * constraints" when other farms' tasks took the room, "no such image"), or lost (its node
 * went down, or the swarm gave up on it without the build's exit: orphaned, shut down).
 * Pure.
 */
export function taskOutcome(task: TaskInfo | undefined, nodeState: string | undefined): TaskOutcome {
  if (!task) return { kind: 'waiting' };
  if ((task.state === 'complete' || task.state === 'failed') && task.exitCode !== undefined) return { kind: 'exited', code: task.exitCode };
  const why = `task ${task.state}${task.message ? `: ${task.message}` : ''}`;
  if (task.state === 'rejected') return { kind: 'rejected', why };
  if (ENDED.has(task.state)) return { kind: 'lost', why };
  if (task.nodeId && nodeState === 'down') return { kind: 'lost', why: 'its node went down' };
  return { kind: task.state === 'running' ? 'running' : 'waiting' };
}

/**
 * Whether a job is submitted again after a try that did not reach the build's exit, and
 * after how long. A lost try counts against `retries` and goes again at once; a rejected
 * one counts against `rejections` alone, never as a lost node, and waits first: `baseMs`,
 * doubled after each rejection, at most 30 s. Pure.
 * @param tally the tries of each kind so far, this one included
 * @returns the wait in ms before the next try; undefined when the job has had its tries
 */
export function retryAfter(
  kind: 'lost' | 'rejected',
  tally: { lost: number; rejected: number },
  limits: { retries: number; rejections: number },
  baseMs = 1000,
): number | undefined {
  if (kind === 'lost') return tally.lost <= limits.retries ? 0 : undefined;
  return tally.rejected <= limits.rejections ? Math.min(30_000, baseMs * 2 ** (tally.rejected - 1)) : undefined;
}

/**
 * Runs one package build as a swarm job (jobServiceSpec) and waits for it: the swarm
 * places it; its output follows into `logFile` live (the service's logs, which the swarm
 * collects from whichever node runs it) and is written there again once it ends, as its
 * node kept it; both capped at limits.logMiB (jobLog). A try whose node is lost, or that
 * the swarm rejects (taskOutcome), is removed and submitted again as retryAfter says. A
 * lost or rejected try's service is removed at once, and so is the job's on any error and
 * when `signal` aborts (the swarm then stops its container); a job that ran to its exit
 * is kept until the caller's `release()`. The service's name (jobName) is a claim on the
 * inputs: when another run's job holds it, nothing is submitted.
 * @param onNode told the node's hostname when a try starts running there
 * @returns how the job ran; undefined when another run's job for the same inputs holds
 *   its name (attach to that one: attachJob)
 * @throws IgluError when every try was lost or rejected, or "interrupted" when `signal` aborts
 */
export async function runJob(engine: Engine, job: PackageJob, o: JobOptions): Promise<JobRun | undefined> {
  const tally = { lost: 0, rejected: 0 };
  for (let attempt = 1; ; attempt++) {
    const run = await oneTry(engine, { ...job, attempt }, o);
    if (run.kind === 'taken') return undefined;
    if (run.kind === 'exited') return { ...run.run, attempts: attempt };
    tally[run.kind]++;
    const wait = retryAfter(run.kind, tally, { retries: o.retries, rejections: o.rejections ?? JOB_REJECTIONS }, o.rejectionBackoffMs);
    const again = wait === undefined ? 'giving up' : `submitting it again${wait ? ` in ${wait / 1000} s` : ''}`;
    await writeFile(o.logFile, `iglu: ${job.pkg}'s try ${attempt} was ${run.kind} (${run.why}); ${again}\n`, { flag: 'a' });
    log.docker('job %s %s: %s', jobName({ ...job, attempt }), run.kind, run.why);
    if (wait === undefined) {
      throw new IgluError(`${job.pkg}: its build job was ${run.kind} ${tally[run.kind]} times (last: ${run.why})`, {
        hint:
          run.kind === 'lost'
            ? 'see iglu farm status: are the nodes ready?'
            : 'see iglu farm status and docker service ps: has a node room (CPUs, memory) for a job?',
      });
    }
    if (wait) await sleep(wait, undefined, { signal: o.signal }).catch(() => undefined);
  }
}

async function oneTry(
  engine: Engine,
  job: PackageJob,
  o: JobOptions,
): Promise<{ kind: 'exited'; run: Omit<JobRun, 'attempts'> } | { kind: 'lost' | 'rejected'; why: string } | { kind: 'taken' }> {
  const id = await engine.services.claim(jobServiceSpec(job));
  if (!id) return { kind: 'taken' };
  const sink = jobLog(o.logFile, jobLogMiB(job.limits), 'a');
  let stopFollowing: (() => void) | undefined;
  let kept = false;
  const release = () => removeJob(engine, o.engines ?? [engine], id);
  try {
    let node = '';
    let startedAt = '';
    for (;;) {
      if (o.signal?.aborted) throw interrupted(`the build job of ${job.pkg}`);
      const task = (await engine.tasks.list(id)).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      const nodes = task?.nodeId ? await engine.nodes.list() : [];
      const where = nodes.find((n) => n.id === task?.nodeId);
      const outcome = taskOutcome(task, where?.state);
      if (where && !node && (outcome.kind === 'running' || outcome.kind === 'exited')) {
        node = where.hostname;
        startedAt = new Date().toISOString();
        o.onNode?.(node);
        stopFollowing = await engine.services.logs(id, sink, true).catch(() => undefined);
      }
      if (outcome.kind === 'lost' || outcome.kind === 'rejected') return outcome;
      if (outcome.kind === 'exited') {
        const endedAt = new Date().toISOString();
        stopFollowing?.();
        const text = await wholeLog(engine, id, sink, o.logFile, jobLogMiB(job.limits));
        kept = true;
        return {
          kind: 'exited',
          run: { code: outcome.code, node: node || (task?.nodeId ?? ''), startedAt: startedAt || endedAt, endedAt, usage: parseUsage(text), release },
        };
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
  } finally {
    stopFollowing?.();
    if (!sink.closed) sink.end();
    if (!kept) await release();
  }
}

/** A job's log file, keeping `mib` MiB of its output at most (CappedLog): 1 GiB of output held 4.6 GB of iglu's memory. */
function jobLog(file: string, mib: number, flags: 'a' | 'w'): CappedLog {
  return new CappedLog(file, mib * 1024 * 1024, `limits.logMiB = ${mib}`, flags);
}

/**
 * Replaces what was followed live in `logFile` with the job's log as its node kept it,
 * now that its task has ended (the notes of lost tries at the top), streamed and capped
 * at `mib` MiB, and closes `sink`; what was followed stays when the node gives nothing.
 * @returns the end of the job's log (its usage line)
 */
async function wholeLog(engine: Engine, id: string, sink: CappedLog, logFile: string, mib: number): Promise<string> {
  await new Promise((resolve) => sink.end(resolve));
  const notes = await lostTries(logFile);
  const part = `${logFile}.job`;
  const whole = jobLog(part, mib, 'w');
  whole.write(notes);
  await engine.services.logs(id, whole, false).catch(() => undefined);
  // the node rotates its log: what was followed live may be more than it kept
  const kept = whole.total - Buffer.byteLength(notes);
  if (kept > 0 && sink.total > kept)
    whole.write(`iglu: the job printed at least ${sink.total} bytes; its node kept the last ${kept} (two files of limits.logMiB = ${mib}, rotated)\n`);
  await new Promise((resolve) => whole.end(resolve));
  const got = kept > 0;
  if (got) await rename(part, logFile);
  else await rm(part, { force: true });
  return (got ? whole : sink).lastText();
}

/** iglu's notes of lost and rejected tries in a job's log (runJob writes them), read line by line. */
async function lostTries(log: string): Promise<string> {
  const notes: string[] = [];
  const lines = createInterface({ input: createReadStream(log), crlfDelay: Infinity });
  try {
    for await (const line of lines) if (/^iglu: \S+'s try \d+ was (lost|rejected)/.test(line)) notes.push(`${line}\n`);
  } catch {
    // no log yet
  }
  return notes.join('');
}

/**
 * Removes a job's service, then its task containers on `engines` (the swarm leaves a
 * completed job's container behind when its service goes: Docker 20.10). What is already
 * gone, and an engine that does not answer, are skipped: this is cleanup.
 */
export async function removeJob(manager: Engine, engines: Engine[], serviceId: string): Promise<void> {
  await manager.services.remove(serviceId).catch((err: unknown) => log.docker('removing job %s: %s', serviceId, String(err)));
  await Promise.all(
    engines.map(async (e) => {
      for (const c of await e.containers.list({ 'com.docker.swarm.service.id': serviceId }).catch(() => []))
        await e.containers.remove(c.id).catch(() => undefined);
    }),
  );
}

/** How long a job's service may stay after its task ended before an attached run takes it for a leftover of a run that is gone. */
export const STALE_JOB_MS = 10 * 60_000;

/**
 * Whether a job's service is a leftover: its newest task ended (a completed or failed
 * build, or one the swarm gave up on) longer than `staleMs` ago, so no run is still
 * packing and storing its result (the owner removes the service right after). Pure.
 */
export function staleJob(task: TaskInfo | undefined, now: number, staleMs = STALE_JOB_MS): boolean {
  if (!task || !ENDED.has(task.state) || !task.changedAt) return false;
  const at = Date.parse(task.changedAt);
  return Number.isFinite(at) && now - at > staleMs;
}

/**
 * Follows a package job another run started for the same inputs (a service labelled with
 * the farm, role "build" and `iglu.inputs`): its log into `logFile`, live, until its
 * service is gone — its owner removes it once the package is stored or has failed.
 * A leftover (staleJob, or its owner process on this machine is gone: util/owner.ts) is
 * removed instead, so the inputs can be built.
 * `signal` (Ctrl-C) only stops following: the job is not this run's.
 * @returns undefined when no such job runs; else the node it ran on, once it is gone
 *   (`stale` when it was a leftover this call removed)
 * @throws "interrupted" when `signal` aborts
 */
export async function attachJob(
  engine: Engine,
  farm: string,
  inputs: string,
  o: { logFile: string; signal?: AbortSignal; onNode?: (node: string) => void; pollMs?: number; staleMs?: number; engines?: Engine[] },
): Promise<{ node: string; stale?: boolean } | undefined> {
  const running = (await engine.services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build', 'iglu.inputs': inputs }))[0];
  if (!running) return undefined;
  const sink = jobLog(o.logFile, JOB_LOG_MIB, 'w');
  const stopFollowing = await engine.services.logs(running.id, sink, true).catch(() => undefined);
  let node = '';
  try {
    for (;;) {
      if (o.signal?.aborted) throw interrupted(`following ${running.name}`);
      const task = (await engine.tasks.list(running.id).catch(() => [])).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      if (task?.nodeId && !node) {
        node = (await engine.nodes.list()).find((n) => n.id === task.nodeId)?.hostname ?? task.nodeId;
        o.onNode?.(node);
      }
      if (staleJob(task, Date.now(), o.staleMs) || ownerGoneHere(running.labels[OWNER_LABEL])) {
        log.docker('job %s is a leftover: its run is gone (ended %s)', running.name, task?.changedAt ?? 'not yet');
        await removeJob(engine, o.engines ?? [engine], running.id);
        return { node, stale: true };
      }
      if (!(await engine.services.get(running.id))) return { node };
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
  } finally {
    stopFollowing?.();
    await new Promise((resolve) => sink.end(resolve));
  }
}

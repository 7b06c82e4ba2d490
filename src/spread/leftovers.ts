import type { Engine } from '../docker/index.js';
import { LABEL } from '../labels.js';
import { log } from '../log.js';
import { removeJob } from './job.js';
import { JOB_BUNDLE_LABEL, JOB_TOKEN_LABEL } from './job-spec.js';
import type { PackageStore } from '../store/package-store.js';
import { OWNER_LABEL, ownerGoneHere } from '../util/owner.js';

/**
 * Removes the spread build jobs an iglu process killed on this machine (kill -9, a crash)
 * left: each job service whose `iglu.owner` label names a process of this boot that no
 * longer runs (util/owner.ts) — nobody will take its result into the store — with its task
 * containers on `engines`, and with `store` the job's staging directory and bundle blob.
 * Jobs of a live process, of another machine's iglu, or without the label are left alone
 * (attachJob's 10-minute rule covers those). Best effort: a failure is logged.
 * @returns the names of the jobs removed
 */
export async function sweepDeadJobs(engine: Engine, farm: string, o: { engines?: Engine[]; store?: PackageStore } = {}): Promise<string[]> {
  const removed: string[] = [];
  const jobs = await engine.services.list({ [LABEL.farm]: farm, [LABEL.role]: 'build' }).catch(() => []);
  for (const job of jobs.filter((s) => ownerGoneHere(s.labels[OWNER_LABEL]))) {
    await removeJob(engine, o.engines ?? [engine], job.id);
    const token = job.labels[JOB_TOKEN_LABEL];
    const bundle = job.labels[JOB_BUNDLE_LABEL];
    if (o.store && token) await o.store.dropStaged(token).catch((err: unknown) => log.farm('leftover staging %s: %s', token, String(err)));
    if (o.store && bundle) await o.store.drop(bundle).catch((err: unknown) => log.farm('leftover bundle %s: %s', bundle, String(err)));
    removed.push(job.name);
  }
  if (removed.length) log.farm('removed build jobs of runs that are gone: %o', removed);
  return removed;
}

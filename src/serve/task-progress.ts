import path from 'node:path';
import type { PackageOutcome } from '../pipeline/outcome.js';
import type { TaskPackage } from './task.js';

const WORD = '[A-Za-z0-9._+~-]+';
/** A package step's line in listr2's simple renderer: ❯ started, ✔ done, ✖ failed, ↓ skipped; its title is "pkgname pkgver". */
const STEP = new RegExp(`^([❯✔✖↓]) (${WORD}) (${WORD})(?::| \\[|$)`);
const MARK: Record<string, string> = { '❯': 'building', '✔': 'built', '✖': 'failed', '↓': 'blocked' };

/**
 * Packages as a running build's log shows them (`iglu chroot build`'s progress, listr2's
 * simple renderer): each package step's latest mark. What the build's --json result says
 * replaces it when the build ends (packagesOfResult). Pure.
 */
export function packagesOfLog(log: string): TaskPackage[] {
  const seen = new Map<string, TaskPackage>();
  for (const line of log.split('\n')) {
    const m = STEP.exec(line);
    if (m) seen.set(m[2]!, { name: m[2]!, version: m[3]!, state: MARK[m[1]!]! });
  }
  return [...seen.values()];
}

/**
 * The packages of `iglu chroot build --json`'s result, as a task shows them: the action
 * as the state, the node, times, resources, and the log named as an artifact
 * (`logs/<file>`). Pure.
 */
export function packagesOfResult(packages: PackageOutcome[]): TaskPackage[] {
  return packages.map((p) => ({
    name: p.name,
    version: p.version,
    state: p.action,
    ...(p.node ? { node: p.node } : {}),
    ...(p.startedAt ? { startedAt: p.startedAt } : {}),
    ...(p.endedAt ? { endedAt: p.endedAt } : {}),
    seconds: p.seconds,
    ...(p.error ? { error: p.error } : {}),
    ...(p.blockedBy?.length ? { blockedBy: p.blockedBy } : {}),
    ...(p.log ? { log: `logs/${path.basename(p.log)}` } : {}),
    ...(p.usage ? { usage: p.usage } : {}),
  }));
}

/** The build's own error, from the last `iglu: …` line of its log (cli.ts's one exit path), with its hint. Pure. */
export function errorOfLog(log: string): string | undefined {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^iglu: (.*)$/.exec(lines[i]!);
    if (m && !/^(SIGINT|SIGTERM):/.test(m[1]!)) {
      const hint = /^hint: (.*)$/.exec(lines[i + 1] ?? '');
      return hint ? `${m[1]} (${hint[1]})` : m[1];
    }
  }
  return undefined;
}

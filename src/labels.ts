import { randomBytes } from 'node:crypto';
import { IGLU_VERSION } from './layout/package-root.js';

/** Label keys on every Docker object iglu makes, so it can be found and removed. */
export const LABEL = {
  /** Farm name (services, networks, containers). */
  farm: 'iglu.farm',
  /** ID of the iglu invocation that made the object. */
  run: 'iglu.run',
  /** iglu version that made it. */
  version: 'iglu.version',
  /** What the object is: "distccd", "probe", "client", "abyss". */
  role: 'iglu.role',
  /** Hash of the spec or inputs the object was made from. */
  spec: 'iglu.spec',
} as const;

/** This invocation's run ID: 12 hex digits, new for every process. */
export const RUN_ID = randomBytes(6).toString('hex');

/** The labels for an object of `role` made by this run, optionally for a farm. */
export function labelsFor(role: string, farm?: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [LABEL.version]: IGLU_VERSION,
    [LABEL.run]: RUN_ID,
    [LABEL.role]: role,
    ...(farm ? { [LABEL.farm]: farm } : {}),
    ...extra,
  };
}

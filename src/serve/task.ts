import type { JobUsage } from '../spread/job-spec.js';

/** A task's state, aoinb's list plus `new` (created, not yet asked to build). */
export type TaskState = 'new' | 'queued' | 'blocked' | 'building' | 'done' | 'failed' | 'cancelled';

/** States a task never leaves. */
export const FINAL_STATES: readonly TaskState[] = ['done', 'failed', 'cancelled'];

/** What a token may do: read everything; submit (and see, cancel) its own tasks; admin anything. */
export type Scope = 'read' | 'submit' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'submit', 'admin'];

/** One package of a task, as the build reports it (`iglu chroot build --json`'s packages, or its progress while it runs). */
export interface TaskPackage {
  name: string;
  version?: string;
  /** waiting and building while the task runs; then the build's action (built, up to date, from store, attached, failed, blocked, …). */
  state: string;
  node?: string;
  startedAt?: string;
  endedAt?: string;
  seconds?: number;
  error?: string;
  blockedBy?: string[];
  /** The package's log, relative to the task's artifacts. */
  log?: string;
  usage?: JobUsage;
}

/** A task as the database keeps it and the API shows it. */
export interface Task {
  /** 12 lower-case hex digits. */
  id: string;
  /** The name of the token that created it, or `queue` for the queue directory: for people, not for access. */
  owner: string;
  /**
   * Who owns it: the id of the token that created it (TokenRow.id), or QUEUE_OWNER_ID for
   * the queue directory. Access and limits go by this, never by the name: a token added
   * later under a revoked token's name owns nothing of the old one's.
   */
  ownerId: string;
  branch: string;
  /** Higher runs first among the same owner's tasks (and before others' for an admin's). */
  priority: number;
  state: TaskState;
  /** Why it failed, is blocked or was cancelled. */
  reason?: string;
  /** The bundle once uploaded: its size in bytes, sha256 and member count. */
  bundle?: { bytes: number; sha256: string; members: number; name?: string };
  createdAt: string;
  queuedAt?: string;
  startedAt?: string;
  endedAt?: string;
  /** The running build's process group leader (pid and /proc start time), while building. */
  run?: { pid: number; start: number };
  exitCode?: number;
  /** Set while a building task is being stopped: why (its state when the build is gone). */
  stop?: 'cancelled' | 'timeout';
  packages: TaskPackage[];
  /** The packages, manifests and logs fixed in the task's directory when it ended, each with its sha256 (serve/artifacts.ts). */
  artifacts?: TaskArtifact[];
}

/** A file a task made, kept in its directory as it was when the task ended. */
export interface TaskArtifact {
  /** As the API names it: `packages/<file>` or `logs/<file>`. */
  name: string;
  bytes: number;
  sha256: string;
}

/** The owner id of the tasks that came through the queue directory (token ids are 16 hex digits, never this). */
export const QUEUE_OWNER_ID = 'queue';

/** Task ids as the API takes them. */
export const TASK_ID = /^[0-9a-f]{12}$/;

import { z } from 'zod';

/** The API's JSON shapes (zod): requests are checked against them, and the OpenAPI document is made from them. */

export const TaskIdParams = z.object({ id: z.string().regex(/^[0-9a-f]{12}$/, 'a task id is 12 hex digits') });

export const CreateTaskBody = z
  .strictObject({
    branch: z.string().min(1).optional().describe('the branch the bundle builds upon (serve.branches; default main)'),
    priority: z.int().min(-10).max(10).optional().describe('higher first among your tasks; above 0 (before every turn) needs an admin token'),
  })
  .nullish();

const Usage = z.object({ cpuSeconds: z.number(), wallSeconds: z.number(), peakMemoryBytes: z.number(), diskBytes: z.number() });

export const TaskPackageSchema = z.object({
  name: z.string(),
  version: z.string().optional(),
  state: z.string().describe('waiting, building; then built, up to date, installed, from store, attached, failed or blocked'),
  node: z.string().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  seconds: z.number().optional(),
  error: z.string().optional(),
  blockedBy: z.array(z.string()).optional(),
  log: z.string().optional().describe('the artifact holding its log'),
  usage: Usage.optional().describe('CPU seconds, wall seconds, peak memory and disk written by its job'),
});

export const TaskSchema = z.object({
  id: z.string(),
  owner: z.string(),
  branch: z.string(),
  priority: z.number(),
  state: z.enum(['new', 'queued', 'blocked', 'building', 'done', 'failed', 'cancelled']),
  reason: z.string().optional(),
  bundle: z.object({ bytes: z.number(), sha256: z.string(), members: z.number(), name: z.string().optional() }).optional(),
  createdAt: z.string(),
  queuedAt: z.string().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  exitCode: z.number().optional(),
  stop: z.enum(['cancelled', 'timeout']).optional(),
  packages: z.array(TaskPackageSchema),
});

export const TaskListSchema = z.object({ tasks: z.array(TaskSchema) });
export const TaskListQuery = z.object({ state: z.enum(['new', 'queued', 'blocked', 'building', 'done', 'failed', 'cancelled']).optional() });
export const TaskRef = z.object({ id: z.string(), state: z.string() });
export const ErrorSchema = z.object({ error: z.string(), hint: z.string().optional() });
export const ArtifactList = z.object({ artifacts: z.array(z.object({ name: z.string(), bytes: z.number() })) });

export const BuilderStatus = z.object({
  farm: z.string(),
  up: z.boolean(),
  problem: z.string().optional(),
  nodes: z.array(z.object({ hostname: z.string(), state: z.string(), availability: z.string(), cpus: z.number().optional() })),
  slots: z.object({ room: z.number(), busy: z.number() }),
  builds: z.array(z.object({ pkg: z.string(), node: z.string(), state: z.string() })),
  tasks: z.object({ building: z.number(), queued: z.number(), blocked: z.number() }),
});

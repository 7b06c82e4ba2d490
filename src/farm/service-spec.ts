import { createHash } from 'node:crypto';
import { totalmem } from 'node:os';
import type { FarmConfig } from '../config/schema.js';
import type { ServiceSpec } from '../docker/index.js';
import { LABEL, labelsFor } from '../labels.js';
import { serviceName } from './settings.js';
import { compileGuardScript, GUARD_DIR } from './compile-guard.js';
import { compileConfineScript, CONFINE_FILE } from './compile-confine.js';
import { STACK_NAMESPACE_LABEL, type FarmStack } from './stack.js';
import { STATS_PORT } from './stats.js';

/** The label `docker stack deploy` gives a service for its image (docker/cli, stack convert). */
const STACK_IMAGE_LABEL = 'com.docker.stack.image';

/** What the distccd service is made from. */
export interface DistccdServiceInput {
  /** Service name, `<farm>_distccd` (serviceName). */
  name: string;
  /** The stack's name (the farm's): the com.docker.stack.namespace label. */
  namespace: string;
  /** Farm image ID (sha256:…): given by ID, workers never look up a registry. */
  imageId: string;
  network: string;
  /** Overlay subnet(s) distccd accepts clients from (`--allow`). */
  allow: string[];
  compilers: string[];
  port: number;
  mode: { replicas: number } | { global: true };
  /** The task's memory limit, bytes, unless the stack gives one (taskMemoryBytes). */
  memoryBytes: number;
  /** What the stack file says (farm/stack.ts): init, stop grace, restart policy, resources, placement, endpoint mode, labels. */
  stack: FarmStack;
}

/**
 * distccd's start script. It writes the compile guard (compile-guard.ts) once per
 * compiler, the confinement each compile runs in (compile-confine.ts), and the allow-list for DISTCC_CMDLIST naming those copies (distccd(1): a file
 * of command paths; the last DISTCC_CMDLIST_NUMWORDS=1 path component must match, and
 * the command run is the listed path), and runs distccd in the foreground with one job
 * slot per CPU of its node and its statistics server on STATS_PORT (farm top reads it).
 */
const START = [
  `mkdir -p ${GUARD_DIR}`,
  `printf '%s' "$IGLU_CONFINE" > ${CONFINE_FILE}`,
  `for c in $IGLU_COMPILERS; do printf '%s' "$IGLU_GUARD" > ${GUARD_DIR}/$c; chmod 755 ${GUARD_DIR}/$c; echo "${GUARD_DIR}/$c"; done > /tmp/distcc-cmdlist`,
  'allow=""; for a in $IGLU_ALLOW; do allow="$allow --allow $a"; done',
  `exec distccd --daemon --no-detach --log-stderr --port "$IGLU_PORT" --jobs "$(nproc)" --stats --stats-port ${STATS_PORT} $allow`,
].join('\n');

/** A task's pids limit unless the stack gives one (pids_limit): distccd, and a guard, perl and clang or two per job. */
export const TASK_LIMITS = { pids: 2048 };

/**
 * A task's memory limit unless the stack gives one: three quarters of `hostBytes` (the
 * manager's memory: a farm of smaller workers sets deploy.resources.limits.memory in
 * farm.stack), whole MiB, so that the tasks' compiles (each also bounded: compile-confine.ts)
 * are killed by their own cgroup's out-of-memory killer, not the host's. Pure.
 */
export function taskMemoryBytes(hostBytes: number): number {
  return Math.floor((hostBytes * 0.75) / 2 ** 20) * 2 ** 20;
}

/**
 * The Engine API ServiceSpec (API 1.41) of the farm's distccd service, as `docker stack
 * deploy` would make it from stacks/farm.yaml (docker/cli's compose convert): iglu's
 * command, environment and network, the stack's init, stop grace, restart policy,
 * resources, placement and endpoint mode (dnsrr by default: kernels without IP_VS cannot
 * route to a VIP). Labels: the stack's deploy.labels, then iglu's, plus
 * com.docker.stack.namespace and com.docker.stack.image; iglu.spec = specHash. Task
 * containers get iglu's labels with iglu.run "service:<name>" (not the per-run ID, which
 * would make every `farm up` a spec change), iglu.spec "task:<name>" and the namespace.
 * Pure.
 * @throws Error when `allow` is empty (a bug in the caller: the overlay has a subnet)
 */
export function distccdServiceSpec(input: DistccdServiceInput, labels: Record<string, string>): ServiceSpec {
  // without --allow, distccd 3.4 falls back to --allow-private: every private address
  if (input.allow.length === 0) throw new Error('distccd needs at least one --allow subnet');
  // task containers carry the farm's labels too, without the per-run ID (it would make
  // every `farm up` a spec change)
  const { [LABEL.run]: _run, ...containerLabels } = labels;
  const st = input.stack;
  const ns = { [STACK_NAMESPACE_LABEL]: input.namespace };
  const resources = (r: FarmStack['resources']['limits']) => ({
    ...(r.nanoCpus !== undefined ? { NanoCPUs: r.nanoCpus } : {}),
    ...(r.memoryBytes !== undefined ? { MemoryBytes: r.memoryBytes } : {}),
    ...(r.pids !== undefined ? { Pids: r.pids } : {}),
  });
  const limits = { ...TASK_LIMITS, memoryBytes: input.memoryBytes, ...st.resources.limits };
  const spec: ServiceSpec = {
    Name: input.name,
    TaskTemplate: {
      ContainerSpec: {
        Image: input.imageId,
        Command: ['/bin/sh', '-c', START],
        Env: [
          `IGLU_COMPILERS=${input.compilers.join(' ')}`,
          `IGLU_ALLOW=${input.allow.join(' ')}`,
          `IGLU_PORT=${input.port}`,
          `IGLU_GUARD=${compileGuardScript()}`,
          `IGLU_CONFINE=${compileConfineScript()}`,
          'DISTCC_CMDLIST=/tmp/distcc-cmdlist',
        ],
        // set, not inherited: a container carries its image's labels (the farm image's
        // iglu.run and iglu.spec) unless its own spec gives the same keys
        Labels: { ...containerLabels, ...ns, [LABEL.run]: `service:${input.name}`, [LABEL.spec]: `task:${input.name}` },
        Init: st.init,
        StopGracePeriod: st.stopGraceNs,
      },
      Resources: { Limits: resources(limits), Reservations: resources(st.resources.reservations) },
      Placement: {
        Constraints: st.placement.constraints,
        Preferences: st.placement.spreads.map((s) => ({ Spread: { SpreadDescriptor: s } })),
        ...(st.placement.maxReplicasPerNode ? { MaxReplicas: st.placement.maxReplicasPerNode } : {}),
      },
      RestartPolicy: {
        Condition: st.restart.condition,
        Delay: st.restart.delayNs,
        ...(st.restart.maxAttempts !== undefined ? { MaxAttempts: st.restart.maxAttempts } : {}),
      },
      Networks: [{ Target: input.network }],
    },
    Mode: 'global' in input.mode ? { Global: {} } : { Replicated: { Replicas: input.mode.replicas } },
    EndpointSpec: { Mode: st.endpointMode },
  };
  return { ...spec, Labels: { ...st.labels, ...labels, ...ns, [STACK_IMAGE_LABEL]: input.imageId, [LABEL.spec]: specHash(spec, st.labels) } };
}

/**
 * A hash of a spec without its labels (which carry the run ID) but with the stack's own
 * labels, to tell whether the service must change. Mode counts: a different replica count
 * is a change.
 */
export function specHash(spec: ServiceSpec, stackLabels: Record<string, string> = {}): string {
  const { Labels: _labels, ...rest } = spec;
  return createHash('sha256')
    .update(JSON.stringify({ ...rest, stackLabels }))
    .digest('hex')
    .slice(0, 12);
}

/**
 * The farm's distccd ServiceSpec from its settings (mode decided: withStackMode), the image
 * ID, its overlay's subnets and the stack: what `farm up` and `farm scale` both write, so
 * one's spec is no change for the other. The tasks' memory limit, unless the stack gives
 * one, is taskMemoryBytes of `hostMemory` (bytes; default: this machine's, os.totalmem). Pure
 * but for that default.
 */
export function farmServiceSpec(farm: FarmConfig, imageId: string, subnets: string[], stack: FarmStack, hostMemory = totalmem()): ServiceSpec {
  return distccdServiceSpec(
    {
      name: serviceName(farm),
      namespace: farm.name,
      imageId,
      network: farm.network,
      allow: subnets,
      compilers: farm.compilers,
      port: farm.port,
      mode: farm.global ? { global: true } : { replicas: farm.replicas },
      memoryBytes: taskMemoryBytes(hostMemory),
      stack,
    },
    labelsFor('distccd', farm.name),
  );
}

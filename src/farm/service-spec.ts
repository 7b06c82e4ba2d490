import { createHash } from 'node:crypto';
import { LABEL } from '../labels.js';
import { compileGuardScript, GUARD_DIR } from './compile-guard.js';

/** What the distccd service is made from. */
export interface DistccdServiceInput {
  /** Service name, `<farm>-distccd`. */
  name: string;
  /** Farm image ID (sha256:…): given by ID, workers never look up a registry. */
  imageId: string;
  network: string;
  /** Overlay subnet(s) distccd accepts clients from (`--allow`). */
  allow: string[];
  compilers: string[];
  port: number;
  mode: { replicas: number } | { global: true };
}

/**
 * distccd's start script. It writes the compile guard (compile-guard.ts) once per
 * compiler and the allow-list for DISTCC_CMDLIST naming those copies (distccd(1): a file
 * of command paths; the last DISTCC_CMDLIST_NUMWORDS=1 path component must match, and
 * the command run is the listed path), and runs distccd in the foreground with one job
 * slot per CPU of its node.
 */
const START = [
  `mkdir -p ${GUARD_DIR}`,
  `for c in $IGLU_COMPILERS; do printf '%s' "$IGLU_GUARD" > ${GUARD_DIR}/$c; chmod 755 ${GUARD_DIR}/$c; echo "${GUARD_DIR}/$c"; done > /tmp/distcc-cmdlist`,
  'allow=""; for a in $IGLU_ALLOW; do allow="$allow --allow $a"; done',
  'exec distccd --daemon --no-detach --log-stderr --port "$IGLU_PORT" --jobs "$(nproc)" $allow',
].join('\n');

/**
 * The Engine API ServiceSpec (API 1.41) of the farm's distccd service. Pure.
 * Endpoint mode dnsrr (kernels without IP_VS cannot route to a VIP), Init true (distccd as
 * PID 1 ignores SIGTERM), short stop grace. Service labels: `labels` plus iglu.spec =
 * specHash; task containers get `labels` with iglu.run "service:<name>" (not the per-run
 * ID, which would make every `farm up` a spec change) and iglu.spec "task:<name>".
 * @throws Error when `allow` is empty (a bug in the caller: the overlay has a subnet)
 */
export function distccdServiceSpec(input: DistccdServiceInput, labels: Record<string, string>): Record<string, unknown> {
  // without --allow, distccd 3.4 falls back to --allow-private: every private address
  if (input.allow.length === 0) throw new Error('distccd needs at least one --allow subnet');
  // task containers carry the farm's labels too, without the per-run ID (it would make
  // every `farm up` a spec change)
  const { [LABEL.run]: _run, ...containerLabels } = labels;
  const spec = {
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
          'DISTCC_CMDLIST=/tmp/distcc-cmdlist',
        ],
        // set, not inherited: a container carries its image's labels (the farm image's
        // iglu.run and iglu.spec) unless its own spec gives the same keys
        Labels: { ...containerLabels, [LABEL.run]: `service:${input.name}`, [LABEL.spec]: `task:${input.name}` },
        Init: true,
        StopGracePeriod: 2_000_000_000,
      },
      RestartPolicy: { Condition: 'any', Delay: 1_000_000_000 },
      Networks: [{ Target: input.network }],
    },
    Mode: 'global' in input.mode ? { Global: {} } : { Replicated: { Replicas: input.mode.replicas } },
    EndpointSpec: { Mode: 'dnsrr' },
  };
  return { ...spec, Labels: { ...labels, [LABEL.spec]: specHash(spec) } };
}

/**
 * A hash of a spec without its labels (which carry the run ID), to tell whether the
 * service must change. Mode counts: a different replica count is a change.
 */
export function specHash(spec: Record<string, unknown>): string {
  const { Labels: _labels, ...rest } = spec;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 12);
}

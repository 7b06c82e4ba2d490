import { readFile } from 'node:fs/promises';
import type { FarmConfig } from '../config/schema.js';
import type { Engine, ServiceSpec } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { LABEL, labelsFor } from '../labels.js';
import { waitFor } from '../util/wait.js';
import { PackageStore } from './package-store.js';
import { specHash } from '../farm/service-spec.js';
import path from 'node:path';
import { PACKAGE_ROOT } from '../layout/package-root.js';

/** stacks/store-nginx.conf: nginx's configuration for the store service. */
const NGINX_CONF = path.join(PACKAGE_ROOT, 'stacks/store-nginx.conf');

/** Where the store volume is inside the store service's task. */
const STORE_IN = '/store';

/** The store service's and volume's name: `iglu-<farm>-store`. Pure. */
export function storeName(farm: Pick<FarmConfig, 'name'>): string {
  return `iglu-${farm.name}-store`;
}

/**
 * The ServiceSpec (Engine API 1.41) of the farm's package store: one nginx task from the
 * farm image, on the manager node (`node.id==…`, where the store volume is), serving the
 * volume on the farm's overlay as stacks/store-nginx.conf says (GET; PUT only below
 * staging/). Labels: iglu's with role "store", iglu.spec = specHash. Pure.
 */
export function storeServiceSpec(farm: Pick<FarmConfig, 'name' | 'network'>, image: string, nodeId: string, conf: string): ServiceSpec {
  const name = storeName(farm);
  const { [LABEL.run]: _run, ...taskLabels } = labelsFor('store', farm.name);
  const spec: ServiceSpec = {
    Name: name,
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        Command: ['/bin/sh', '-c', 'printf "%s" "$IGLU_NGINX_CONF" > /tmp/nginx.conf && exec nginx -c /tmp/nginx.conf'],
        Env: [`IGLU_NGINX_CONF=${conf}`],
        Labels: { ...taskLabels, [LABEL.run]: `service:${name}` },
        Mounts: [{ Type: 'volume', Source: name, Target: STORE_IN }],
        Init: true,
      },
      Placement: { Constraints: [`node.id==${nodeId}`] },
      RestartPolicy: { Condition: 'any', Delay: 1_000_000_000 },
      Networks: [{ Target: farm.network, Aliases: [name] }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr' },
  };
  return { ...spec, Labels: { ...labelsFor('store', farm.name), [LABEL.spec]: specHash(spec) } };
}

/** The farm's package store: where jobs reach it, and the manager's view of its volume. */
export interface FarmStore {
  /** Base URL on the overlay, e.g. http://iglu-dev-store */
  url: string;
  store: PackageStore;
}

/**
 * Starts the farm's package store, or finds it running: the labelled volume
 * `iglu-<farm>-store` on this (manager) engine and the nginx service serving it
 * (storeServiceSpec), created or updated when its spec changed, then waits until its
 * task runs. The volume outlives the service (`farm down --purge` removes it), so a
 * later farm keeps what was built.
 * @throws IgluError when this engine is not a swarm manager, or the task does not run
 *   within `timeoutMs` (with its state)
 */
export async function ensureStore(
  engine: Engine,
  farm: Pick<FarmConfig, 'name' | 'network'>,
  image: string,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<FarmStore> {
  const name = storeName(farm);
  const info = await engine.info();
  if (!info.swarm.isManager)
    throw new IgluError('the package store runs on a swarm manager; this engine is not one', { hint: 'run iglu on the manager node (iglu farm up)' });
  const volume = await engine.volumes.ensure(name, labelsFor('store', farm.name));
  if (!volume.mountpoint) throw new IgluError(`the volume ${name} has no mountpoint on this host`, { hint: 'the store needs the local volume driver' });
  const store = new PackageStore(volume.mountpoint);
  await store.init();
  const spec = storeServiceSpec(farm, image, info.swarm.nodeId, await readFile(NGINX_CONF, 'utf8'));
  const wanted = (spec.Labels as Record<string, string>)[LABEL.spec];
  const existing = await engine.services.get(name);
  if (!existing) await engine.services.create(spec);
  else if (existing.labels[LABEL.spec] !== wanted) await engine.services.update(existing.id, existing.version, spec);
  let state = 'no task yet';
  await waitFor(
    async () => {
      const tasks = await engine.tasks.list(name, 'running');
      const newest = tasks.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      state = newest ? `${newest.state}${newest.message ? `: ${newest.message}` : ''}` : 'no task yet';
      return newest?.state === 'running' ? true : undefined;
    },
    {
      timeoutMs: opts.timeoutMs ?? 60_000,
      intervalMs: 200,
      what: `the package store service ${name}`,
      hint: `see docker service ps ${name}`,
      lastState: () => state,
      signal: opts.signal,
    },
  );
  return { url: `http://${name}`, store };
}

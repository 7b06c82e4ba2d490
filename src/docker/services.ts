import type Docker from 'dockerode';
import { pipeline } from 'node:stream/promises';
import { log } from '../log.js';
import { demuxed } from './log-stream.js';
import { idempotent, statusOf } from './api-error.js';
import type { Labels, ServiceInfo, ServiceSpec } from './types.js';

/** Swarm services on a manager (Engine API `/services`). */
export class ServicesClient {
  constructor(
    private readonly api: Docker,
    private readonly endpoint: string,
  ) {}

  /** The service called `name`, or undefined when there is none. */
  async get(name: string): Promise<ServiceInfo | undefined> {
    try {
      return toServiceInfo(await this.api.getService(name).inspect());
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Services whose labels include every `labels` pair. */
  async list(labels: Labels): Promise<ServiceInfo[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const services = await this.api.listServices({ filters: { label } });
    return services.map(toServiceInfo);
  }

  /**
   * Creates a service from an Engine API ServiceSpec (API 1.41 "ServiceSpec").
   * @returns the new service's ID
   */
  async create(spec: ServiceSpec): Promise<string> {
    log.docker('creating service %s on %s', spec.Name, this.endpoint);
    const res = (await this.api.createService(spec)) as unknown as { id?: string; ID?: string };
    const id = res.ID ?? res.id ?? '';
    log.docker('created service %s (%s)', spec.Name, id);
    return id;
  }

  /**
   * Creates a service whose name is a claim: only one caller can hold a name at a time
   * (the swarm's manager refuses a second service of the same name with 409 Conflict,
   * Engine API `POST /services/create`).
   * @returns the new service's ID, or undefined when a service of that name is there
   */
  async claim(spec: ServiceSpec): Promise<string | undefined> {
    try {
      return await this.create(spec);
    } catch (err) {
      if (statusOf(err) === 409) {
        log.docker('service %s is already there', spec.Name);
        return undefined;
      }
      throw err;
    }
  }

  /**
   * Replaces a service's spec. `version` must be the one last read (optimistic
   * concurrency: the Engine rejects a stale version with 500 "update out of sequence").
   */
  async update(id: string, version: number, spec: ServiceSpec): Promise<void> {
    log.docker('updating service %s (version %d)', id, version);
    await this.api.getService(id).update({ ...spec, version });
    log.docker('updated service %s', id);
  }

  /**
   * Writes a service's task output (stdout and stderr, demultiplexed) into `sink`, streamed
   * with backpressure, never held whole (Engine API `GET /services/{id}/logs`; the swarm
   * collects it from whichever node ran the task). With `follow`, new output keeps coming
   * until the returned function stops it; without, it returns once the output so far is
   * written (`sink` is not ended).
   * @returns a function that ends the stream
   */
  async logs(id: string, sink: NodeJS.WritableStream, follow: boolean): Promise<() => void> {
    const stream = await new Promise<NodeJS.ReadableStream & { destroy: () => void }>((resolve, reject) => {
      const statusCodes = { 200: true, 404: 'no such service', 500: 'server error', 503: 'node is not part of a swarm' };
      const options = { follow, stdout: true, stderr: true };
      this.api.modem.dial({ path: `/services/${id}/logs?`, method: 'GET', isStream: true, statusCodes, options }, (err, data) =>
        err ? reject(err) : resolve(data as NodeJS.ReadableStream & { destroy: () => void }),
      );
    });
    const done = pipeline(stream, demuxed(), sink, { end: false });
    if (!follow) await done;
    else done.catch((err: unknown) => log.docker('following the log of %s: %s', id, String(err)));
    return () => stream.destroy();
  }

  /** Removes a service; an absent one counts as removed. */
  async remove(id: string): Promise<void> {
    log.docker('removing service %s', id);
    const removed = await idempotent(() => this.api.getService(id).remove());
    log.docker(removed ? 'removed service %s' : 'service %s was already gone', id);
  }
}

function toServiceInfo(raw: unknown): ServiceInfo {
  const s = raw as {
    ID: string;
    Version?: { Index?: number };
    Spec?: ServiceSpec;
  };
  return {
    id: s.ID,
    name: s.Spec?.Name ?? '',
    version: s.Version?.Index ?? 0,
    labels: s.Spec?.Labels ?? {},
    replicas: s.Spec?.Mode?.Replicated?.Replicas,
    global: Boolean(s.Spec?.Mode?.Global),
    spec: s.Spec ?? { Name: '', TaskTemplate: { ContainerSpec: { Image: '' } } },
  };
}

import type Docker from 'dockerode';
import { log } from '../log.js';
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
   * Writes a service's task output (stdout and stderr, demultiplexed) into `sink`
   * (Engine API `GET /services/{id}/logs`; the swarm collects it from whichever node ran
   * the task). With `follow`, new output keeps coming until the returned function stops it.
   * @returns a function that ends the stream
   */
  async logs(id: string, sink: NodeJS.WritableStream, follow: boolean): Promise<() => void> {
    const stream = await (this.api.getService(id).logs({ follow, stdout: true, stderr: true } as never) as unknown as Promise<
      NodeJS.ReadableStream & { destroy?: () => void }
    >);
    if (!('pipe' in stream)) {
      // without follow, dockerode hands back the whole answer as a Buffer
      sink.write(demuxBuffer(stream));
      return () => undefined;
    }
    this.api.modem.demuxStream(stream, sink, sink);
    return () => stream.destroy?.();
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

/**
 * The payload of a multiplexed log answer: frames of an 8-byte header (stream, 0, 0, 0,
 * big-endian length) and that many bytes (Engine API, "Stream format" of attach and logs).
 */
function demuxBuffer(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const len = buf.readUInt32BE(at + 4);
    parts.push(buf.subarray(at + 8, at + 8 + len));
    at += 8 + len;
  }
  return Buffer.concat(parts);
}

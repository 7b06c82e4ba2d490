import type Docker from 'dockerode';
import { log } from '../log.js';
import { idempotent, statusOf } from './api-error.js';
import type { Labels, VolumeInfo } from './types.js';

/** Named volumes of one engine (Engine API `/volumes`). */
export class VolumesClient {
  constructor(
    private readonly api: Docker,
    private readonly endpoint: string,
  ) {}

  /** The volume called `name`, or undefined when there is none. */
  async get(name: string): Promise<VolumeInfo | undefined> {
    try {
      return toVolumeInfo(await this.api.getVolume(name).inspect());
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Creates a local volume, or returns the one already called `name` (`POST
   * /volumes/create` answers with the existing volume then).
   */
  async ensure(name: string, labels: Labels): Promise<VolumeInfo> {
    log.docker('creating volume %s on %s', name, this.endpoint);
    await this.api.createVolume({ Name: name, Labels: labels });
    return (await this.get(name))!;
  }

  /** Volumes whose labels include every `labels` pair. */
  async list(labels: Labels): Promise<VolumeInfo[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const res = (await this.api.listVolumes({ filters: { label } })) as { Volumes?: unknown[] };
    return (res.Volumes ?? []).map(toVolumeInfo);
  }

  /** Removes a volume; an absent one counts as removed. @throws the Engine's 409 while a container uses it */
  async remove(name: string): Promise<void> {
    log.docker('removing volume %s', name);
    await idempotent(() => this.api.getVolume(name).remove());
  }
}

function toVolumeInfo(raw: unknown): VolumeInfo {
  const v = raw as { Name?: string; Mountpoint?: string; Labels?: Labels | null };
  return { name: v.Name ?? '', mountpoint: v.Mountpoint ?? '', labels: v.Labels ?? {} };
}

import type Docker from 'dockerode';
import { log } from '../log.js';
import { idempotent, statusOf } from './api-error.js';
import { readJsonLines } from './json-stream.js';
import type { ImageInfo, Labels } from './types.js';

/** Images on one engine (Engine API `/images`). */
export class ImagesClient {
  constructor(
    private readonly api: Docker,
    private readonly endpoint: string,
  ) {}

  /** The image `ref` (name:tag or sha256 ID), or undefined when this engine lacks it. */
  async inspect(ref: string): Promise<ImageInfo | undefined> {
    try {
      const img = await this.api.getImage(ref).inspect();
      return {
        id: img.Id,
        tags: img.RepoTags ?? [],
        labels: img.Config?.Labels ?? {},
        size: img.Size,
      };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Images whose labels include every `labels` pair, newest first. */
  async list(labels: Labels): Promise<ImageInfo[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const imgs = await this.api.listImages({ filters: { label } });
    return imgs.sort((a, b) => b.Created - a.Created).map((i) => ({ id: i.Id, tags: i.RepoTags ?? [], labels: i.Labels ?? {}, size: i.Size }));
  }

  /**
   * Imports a root filesystem tarball as an image (Engine API
   * `POST /images/create?fromSrc=-`), applying Dockerfile `changes` such as
   * `CMD [...]`, `ENV K=V` and `LABEL k=v`.
   * @param tar the tar stream (uncompressed or gzip/xz/bzip2)
   * @returns the new image's ID (sha256:…)
   * @throws IgluError when the Engine reports an error line in its answer
   */
  async importRootfs(tar: NodeJS.ReadableStream, repo: string, tag: string, changes: string[]): Promise<string> {
    log.docker('importing rootfs as %s:%s on %s', repo, tag, this.endpoint);
    // dockerode's types give importImage no result, but it resolves to the answer's stream
    const res = await (this.api.importImage(tar, { repo, tag, changes } as never) as unknown as Promise<NodeJS.ReadableStream>);
    const lines = await readJsonLines(res, `importing ${repo}:${tag}`);
    const status = lines.map((l) => l.status ?? '').find((s) => s.startsWith('sha256:'));
    const id = status ?? (await this.inspect(`${repo}:${tag}`))?.id;
    if (!id) throw new Error(`import of ${repo}:${tag} finished without an image ID`);
    log.docker('imported %s:%s as %s', repo, tag, id);
    return id;
  }

  /** The image as a `docker save` tar stream (Engine API `GET /images/{name}/get`). */
  async save(ref: string): Promise<NodeJS.ReadableStream> {
    log.docker('exporting image %s from %s', ref, this.endpoint);
    return await this.api.getImage(ref).get();
  }

  /**
   * Loads a `docker save` tar stream (Engine API `POST /images/load`).
   * @throws IgluError when the Engine reports an error line in its answer
   */
  async load(tar: NodeJS.ReadableStream): Promise<void> {
    log.docker('loading an image into %s', this.endpoint);
    const res = await this.api.loadImage(tar, { quiet: true });
    await readJsonLines(res, `loading an image into ${this.endpoint}`);
    log.docker('loaded an image into %s', this.endpoint);
  }

  /** Adds the tag `repo:tag` to an image. */
  async tag(ref: string, repo: string, tag: string): Promise<void> {
    await this.api.getImage(ref).tag({ repo, tag });
  }

  /** Removes an image (forced); an absent one counts as removed. */
  async remove(ref: string): Promise<void> {
    log.docker('removing image %s from %s', ref, this.endpoint);
    await idempotent(() => this.api.getImage(ref).remove({ force: true }));
  }
}

import type { Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';

/** What happened to the farm image on one engine. */
export interface ImageCopy {
  endpoint: string;
  copied: boolean;
}

/**
 * Puts the farm image on every target engine without a registry: Engine API
 * `GET /images/{ref}/get` on the source streamed into `POST /images/load` on the target,
 * skipped where the target already has the image ID. Targets are served in parallel.
 * @param image.ref a tag, so the loaded image keeps its name; `id` is checked after loading
 * @throws IgluError when a load fails or the loaded ID differs
 */
export async function distributeImage(source: Engine, targets: Engine[], image: { id: string; ref: string }): Promise<ImageCopy[]> {
  return Promise.all(
    targets.map(async (target) => {
      if ((await target.images.inspect(image.id))?.id === image.id) return { endpoint: target.endpoint, copied: false };
      await target.images.load(await source.images.save(image.ref));
      const loaded = await target.images.inspect(image.id);
      if (loaded?.id !== image.id) {
        throw new IgluError(`the farm image loaded into ${target.endpoint} has another ID than ${image.id}`, {
          hint: 'rebuild the image with "iglu image build" and retry',
        });
      }
      return { endpoint: target.endpoint, copied: true };
    }),
  );
}

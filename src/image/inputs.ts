import { createHash } from 'node:crypto';
import type { Config, ImageConfig } from '../config/schema.js';

/** Repository of farm images. The tag is the content hash of the inputs. */
export const ABYSS_REPO = 'iglu/abyss';

/**
 * Bumped whenever the way iglu builds the image changes, so that old images are not
 * reused for new recipes.
 */
export const IMAGE_FORMAT = 1;

/** Dockerfile-style changes applied on import (Engine API `changes` query parameter). */
export const IMAGE_CHANGES = [
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'ENV LANG=C.UTF-8',
  'CMD ["distccd", "--daemon", "--no-detach", "--log-stderr"]',
];

/**
 * The farm image's settings with chroot.buildEnv's Debian packages added to
 * image.packages (the order kept, duplicates dropped): what `iglu image build` installs.
 * With no buildEnv the list is image.packages as given, so the image's tag is unchanged. Pure.
 */
export function imageConfigOf(config: Pick<Config, 'image' | 'chroot'>): ImageConfig {
  const extra = Object.values(config.chroot.buildEnv);
  return extra.length ? { ...config.image, packages: [...new Set([...config.image.packages, ...extra])] } : config.image;
}

/**
 * The farm image iglu.yaml describes: `iglu/abyss:<content hash>` of image.packages with
 * chroot.buildEnv's packages, as `iglu image build` tags it. Pure.
 */
export function configuredImageRef(config: Pick<Config, 'image' | 'chroot'>): string {
  return `${ABYSS_REPO}:${debootstrapHash(imageConfigOf(config))}`;
}

/**
 * The content hash that names a farm image built by debootstrap: sha256 over the
 * suite, the sorted package list, the import changes and IMAGE_FORMAT. The mirror is
 * left out: any mirror serves the same packages.
 * @returns 12 hex digits
 */
export function debootstrapHash(image: Pick<ImageConfig, 'suite' | 'packages'>): string {
  const inputs = {
    format: IMAGE_FORMAT,
    suite: image.suite,
    packages: [...new Set(image.packages)].sort(),
    changes: IMAGE_CHANGES,
  };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 12);
}

/**
 * Finds the Debian mirror in apt's sources: a deb822 `URIs:` field (sources.list.d/*.sources)
 * or a one-line `deb URI suite …` entry. Pure: pass the files' texts.
 * @returns the first URI of a binary ("deb") source, or undefined
 */
export function mirrorFromAptSources(texts: string[]): string | undefined {
  for (const text of texts) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const types = /^Types:\s*(.+)$/im.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      const uri = /^URIs:\s*(\S+)/im.exec(stanza)?.[1];
      if (uri && types.includes('deb') && !/security/.test(stanza)) return uri;
    }
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/m.exec(text);
    if (line && !/security/.test(line[0])) return line[1];
  }
  return undefined;
}

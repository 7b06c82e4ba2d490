import path from 'node:path';
import type { Workdir } from '../../src/layout/workdir.js';
import type { PackageManifest } from '../../src/packages/manifest.js';
import { packPkgdir, writeManifest } from '../../src/packages/pack.js';

/**
 * Packs `pkgdir` as package `name` version 1 into the work directory's out/, with a
 * manifest as a chroot build would write it (recipe and sources left blank), `fields` over it.
 */
export async function packSynthetic(wd: Workdir, name: string, pkgdir: string, fields: Partial<PackageManifest> = {}): Promise<void> {
  const tarball = path.join(wd.root, 'out', `${name}.1.tar.zst`);
  const packed = await packPkgdir(pkgdir, tarball, 946684800);
  const m: PackageManifest = {
    name,
    version: '1',
    release: '0',
    recipe: { file: 'x', sha256: 'x' },
    sources: [],
    tarball: { file: path.basename(tarball), sha256: packed.sha256, size: packed.size },
    files: packed.files,
    installedSize: 0,
    build: { at: new Date().toISOString(), seconds: 0, where: 'chroot' },
    ...fields,
  };
  await writeManifest(path.join(wd.root, 'out', `${name}.1.json`), m);
}

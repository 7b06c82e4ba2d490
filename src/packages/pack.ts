import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import * as tar from 'tar';
import { IgluError } from '../errors.js';
import { hashFile } from '../util/hash.js';
import type { ManifestFile, PackageManifest } from './manifest.js';

/**
 * Packs a pkgdir as a zstd-compressed tarball the same way every time: entries sorted by
 * name, owner and group 0:0 (numeric), every mtime `epoch`, GNU format — GNU tar
 * (`--sort`, `--owner`, `--mtime`: tar(1)) piped into zstd(1). It is written to a
 * temporary name and renamed, so a full disk leaves no half-written package.
 * @param epoch seconds since 1970 for every entry's mtime (SOURCE_DATE_EPOCH)
 * @returns the tarball's sha256 and size, and its file list (read back with node-tar)
 * @throws IgluError with tar's or zstd's message, after removing the temporary file
 */
export async function packPkgdir(pkgdir: string, tarball: string, epoch: number): Promise<{ sha256: string; size: number; files: ManifestFile[] }> {
  const tmp = `${tarball}.${process.pid}.tmp`;
  try {
    await mkdir(path.dirname(tarball), { recursive: true });
    const res = await execa(
      'tar',
      ['-C', pkgdir, '--sort=name', '--format=gnu', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`, '-cf', '-', '.'],
      { reject: false, stderr: 'pipe' },
    ).pipe('zstd', ['-q', '-c', '-T0', '-9'], { stdout: { file: tmp }, reject: false });
    if (res.failed)
      throw new IgluError(`cannot pack ${pkgdir} into ${tarball}: ${res.stderr || res.shortMessage}`, {
        hint: 'GNU tar and zstd are needed (apt-get install tar zstd); check free space in the work directory',
      });
    const files = await listTarball(tmp);
    const { sha256, size } = await hashFile(tmp);
    await rename(tmp, tarball);
    return { sha256, size, files };
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    if (err instanceof IgluError) throw err;
    throw new IgluError(`cannot pack ${pkgdir} into ${tarball}: ${(err as Error).message}`, { hint: 'check free space in the work directory', cause: err });
  }
}

/** The entries of a .tar.zst (zstd -dc into node-tar's parser), in archive order. */
export async function listTarball(file: string): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  const zstd = execa('zstd', ['-dc', file], { stdout: 'pipe', buffer: false });
  const parser = new tar.Parser({
    onReadEntry: (e) => {
      files.push({ path: e.path.replace(/^\.\//, ''), size: e.size ?? 0, type: entryType(e.type), mode: e.mode ?? 0 });
      e.resume();
    },
  });
  zstd.stdout.pipe(parser);
  await Promise.all([
    zstd,
    new Promise<void>((resolve, reject) => {
      parser.on('end', resolve);
      parser.on('error', reject);
    }),
  ]);
  return files.filter((f) => f.path !== '' && f.path !== '.');
}

function entryType(t: string): string {
  return ({ File: 'file', OldFile: 'file', Directory: 'directory', SymbolicLink: 'symlink', Link: 'link' } as Record<string, string>)[t] ?? t.toLowerCase();
}

/** Writes a manifest as JSON, atomically (temporary name, then rename). */
export async function writeManifest(file: string, m: PackageManifest): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(m, null, 2)}\n`);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new IgluError(`cannot write ${file}: ${(err as Error).message}`, { hint: 'check free space in the work directory', cause: err });
  }
}

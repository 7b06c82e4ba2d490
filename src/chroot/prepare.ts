import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import type { Config } from '../config/schema.js';
import type { Engine } from '../docker/index.js';
import { describe, IgluError } from '../errors.js';
import { tailLines } from '../util/tail.js';
import { resolveFarmImage } from '../image/build.js';
import { configuredImageRef } from '../image/inputs.js';
import { labelsFor } from '../labels.js';
import { toolchainIdentity } from '../packages/inputs.js';
import { newestManifest, type PackageManifest } from '../packages/manifest.js';

import { PackagePaths } from '../layout/package-paths.js';
import { exists } from '../util/exists.js';
import { hashFile } from '../util/hash.js';
import { copyKernelHeaders, exposeTargetLoader, installTarball, linkTargetCompilers } from './install.js';
import { mountPoints, mountsUnder } from '../util/mountinfo.js';
import { type ChrootPaths } from '../layout/chroot-paths.js';
import { readState, updateState, type ChrootState } from './state.js';
import { SYSROOT, TARGET_BIN } from '../layout/in-root.js';

/** Inputs of `iglu chroot prepare`. */
export interface PrepareOptions {
  engine: () => Promise<Engine>;
  config: Config;
  /** A root filesystem tarball (any compression GNU tar reads) instead of the farm image. */
  baseTarball?: string;
  /** Start from a fresh base even when the same base is prepared. */
  fresh: boolean;
}

/** The result of `iglu chroot prepare` (--json). */
export interface PrepareResult {
  root: string;
  sysroot: string;
  base: NonNullable<ChrootState['base']>;
  /** True when the prepared base was kept (same image or tarball). */
  reused: boolean;
  /** Kernel header directories copied into the sysroot (on a new base). */
  headers: string[];
  /** Toolchain packages installed into the sysroot now. */
  installed: string[];
}

/**
 * Makes the build root `chroot/root`: the base filesystem — the farm image's, exported
 * through the Engine API (GET /containers/{id}/export), or `baseTarball` — unpacked with
 * GNU tar into a temporary directory and renamed into place, so a failure leaves the
 * previous root untouched. The sysroot (/sysroot inside) gets the base's kernel headers
 * and the toolchain phase's packages (config.toolchain.packages); with musl's dynamic
 * libc among them, the root runs the target's programs (exposeTargetLoader); its
 * /usr/bin/cc and c++ are the target's compiler (linkTargetCompilers). A root already made
 * from the same base is kept, and so is one made from a tarball when no tarball is given
 * (unless `fresh`); only changed toolchain packages are installed again.
 * Mounts nothing. The caller holds the chroot lock and has released leftovers.
 * @throws IgluError for a base tarball that is missing or not a tarball, a base without
 *   mksh and env (the package runner needs them), a toolchain package not built yet, or
 *   something still mounted under the build root
 */
export async function prepareRoot(paths: ChrootPaths, o: PrepareOptions, output: (line: string) => void): Promise<PrepareResult> {
  let state = await readState(paths.state);
  // without --base, a root prepared from a tarball stays (only --fresh goes back to the image)
  const keepTarball = !o.baseTarball && !o.fresh && state.base?.kind === 'tarball' && (await exists(paths.root));
  const base = o.baseTarball ? await tarballBase(o.baseTarball) : keepTarball ? state.base! : await imageBase(await o.engine(), o.config.farm.image, configuredImageRef(o.config));
  const reused = !o.fresh && state.base?.id === base.id && (await exists(paths.root));
  let headers: string[] = [];
  if (!reused) {
    const mounted = mountsUnder(mountPoints(await readFile('/proc/self/mountinfo', 'utf8')), paths.root);
    if (mounted.length) throw new IgluError(`cannot replace the build root: ${mounted.join(', ')} is mounted under it`, { hint: 'unmount it (umount -l) and run the command again' });
    const fresh = `${paths.root}.new`;
    await rm(fresh, { recursive: true, force: true });
    await mkdir(fresh, { recursive: true });
    try {
      output(o.baseTarball ? `unpack ${o.baseTarball}` : `export the farm image ${base.ref}`);
      if (o.baseTarball) await untarFile(o.baseTarball, fresh);
      else await (await o.engine()).containers.exportImage(base.id, labelsFor('chroot-export'), (tar) => untarStream(tar, fresh));
      for (const need of ['usr/bin/env', 'bin/sh']) {
        if (!(await exists(path.join(fresh, need)))) throw new IgluError(`the base ${base.ref} has no /${need}`, { hint: 'a base must be a root filesystem with a shell, env and mksh (the package runner needs them)' });
      }
      if (!(await exists(path.join(fresh, 'usr/bin/mksh'))) && !(await exists(path.join(fresh, 'bin/mksh')))) {
        throw new IgluError(`the base ${base.ref} has no mksh`, { hint: 'the package runner (iglupkg.sh) needs mksh in the base: add it to the base, or use the farm image' });
      }
      headers = await copyKernelHeaders(fresh, path.join(fresh, SYSROOT));
      await rm(paths.root, { recursive: true, force: true });
      await rename(fresh, paths.root);
    } catch (err) {
      await rm(fresh, { recursive: true, force: true });
      throw err;
    }
    state = await updateState(paths.state, (s) => {
      s.base = base;
      s.installed = {};
    });
  }
  const installed: string[] = [];
  const pkgPaths = new PackagePaths(paths.workdir);
  for (const { name, manifest, tarball } of await toolchainPackages(pkgPaths, o.config.toolchain.packages)) {
    if (state.installed[name]?.tarballSha256 === manifest.tarball.sha256) continue;
    output(`install ${name} ${manifest.version} into ${SYSROOT}`);
    await installTarball(tarball, paths.inRoot(SYSROOT));
    state = await updateState(paths.state, (s) => {
      s.installed[name] = { version: manifest.version, tarballSha256: manifest.tarball.sha256, identity: toolchainIdentity(manifest.tarball.sha256) };
    });
    installed.push(name);
  }
  await exposeTargetLoader(paths.root, paths.inRoot(SYSROOT));
  await linkTargetCompilers(paths.root, TARGET_BIN);
  return { root: paths.root, sysroot: paths.inRoot(SYSROOT), base: state.base!, reused, headers, installed };
}

/**
 * The toolchain phase's newest build of each of `names` (config.toolchain.packages): its
 * manifest (out/<name>.<ver>.json built on the farm) and tarball path.
 * @throws IgluError naming the first package the toolchain phase has not built
 */
export async function toolchainPackages(pkgPaths: PackagePaths, names: string[]): Promise<{ name: string; manifest: PackageManifest; tarball: string }[]> {
  const found: { name: string; manifest: PackageManifest; tarball: string }[] = [];
  for (const name of names) {
    const manifest = await newestManifest(pkgPaths.outDir, name, 'farm');
    const tarball = manifest && path.join(pkgPaths.outDir, manifest.tarball.file);
    if (!manifest || !tarball || !(await exists(tarball))) {
      throw new IgluError(`${name} has not been built by the toolchain phase (no out/${name}.*.json from the farm)`, { hint: 'run iglu toolchain build first (it needs the farm: iglu farm up)' });
    }
    found.push({ name, manifest, tarball });
  }
  return found;
}

async function tarballBase(file: string): Promise<NonNullable<ChrootState['base']>> {
  if (!(await exists(file))) throw new IgluError(`base tarball ${file} does not exist`, { hint: 'pass the path of a root filesystem tarball to --base' });
  const list = await execa('tar', ['-tf', file], { reject: false, stdout: 'ignore' });
  if (list.failed) {
    throw new IgluError(`base ${file} is not a tarball GNU tar can read: ${String(list.stderr).split('\n')[0] || list.shortMessage}`, { hint: 'pass a root filesystem as .tar, .tar.gz, .tar.xz or .tar.zst (as Iglunix\'s bootstrap makes)' });
  }
  return { kind: 'tarball', ref: path.resolve(file), id: (await hashFile(file)).sha256, preparedAt: new Date().toISOString() };
}

async function imageBase(engine: Engine, ref: string | undefined, configured: string): Promise<NonNullable<ChrootState['base']>> {
  const image = await resolveFarmImage(engine, ref, configured);
  return { kind: 'image', ref: image.ref, id: image.id, preparedAt: new Date().toISOString() };
}

/** GNU tar rather than node-tar: device nodes, hard links and numeric owners come out exactly. */
async function untarFile(file: string, dir: string): Promise<void> {
  const res = await execa('tar', ['-x', '-p', '--numeric-owner', '-f', file, '-C', dir], { reject: false });
  if (res.failed) throw new IgluError(`cannot unpack ${file}: ${tailLines(String(res.stderr) || res.shortMessage || 'tar failed', 5)}`, { hint: 'check the tarball and free space in the work directory (df -h)' });
}

async function untarStream(tar: NodeJS.ReadableStream, dir: string): Promise<void> {
  const untar = execa('tar', ['-x', '-p', '--numeric-owner', '-C', dir], { stdin: 'pipe', reject: false });
  const piped = await pipeline(tar, untar.stdin).catch((err: unknown) => err);
  const res = await untar;
  // Docker Engine 20.10 may close the export's connection without ending the response;
  // GNU tar exits 0 only after a whole archive (its end-of-archive blocks), so that is fine
  const premature = (piped as NodeJS.ErrnoException | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
  if (res.failed || (piped && !premature)) throw new IgluError(`cannot unpack the farm image into ${dir}: ${tailLines(String(res.stderr) || res.shortMessage || describe(piped), 5)}`, { hint: 'check free space in the work directory (df -h)' });
}


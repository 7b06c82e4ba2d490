import { createReadStream } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { ImageConfig } from '../config/schema.js';
import { engineMessage, type Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { hashFile } from '../util/hash.js';
import { LABEL, labelsFor } from '../labels.js';
import { log } from '../log.js';
import { runLogged } from '../util/run-logged.js';
import { interrupted } from '../util/abort.js';
import { unmountUnder } from '../util/unmount.js';
import type { Workdir } from '../layout/workdir.js';
import { ABYSS_REPO, IMAGE_CHANGES, debootstrapHash, mirrorFromAptSources } from './inputs.js';

/** A farm image on the manager engine. */
export interface FarmImage {
  /** sha256:… */
  id: string;
  /** iglu/abyss:<content hash> */
  ref: string;
  /** true when an image with the same inputs already existed */
  reused: boolean;
}

/** Progress callback: one short line for the user. */
export type Progress = (line: string) => void;

/**
 * Builds the farm ("abyss") image with debootstrap and imports it, or reuses the image
 * already tagged with the same content hash. Needs root (debootstrap) and apt sources
 * naming a Debian mirror (or `image.mirror`).
 *
 * @throws IgluError when not root, debootstrap is missing or fails (with its log's
 *   tail), or the Engine rejects the import; `interrupted` (exit 130) when `signal` aborts:
 *   debootstrap's whole process group is stopped at once (runLogged). Scratch files are
 *   removed either way, after unmounting anything left mounted in them.
 */
export async function buildFarmImage(engine: Engine, workdir: Workdir, image: ImageConfig, progress: Progress, signal?: AbortSignal): Promise<FarmImage> {
  const hash = debootstrapHash(image);
  const ref = `${ABYSS_REPO}:${hash}`;
  const existing = await engine.images.inspect(ref);
  if (existing) return { id: existing.id, ref, reused: true };

  if (process.getuid?.() !== 0)
    throw new IgluError('iglu image build needs root (debootstrap makes a root filesystem)', { hint: 'run it as root, or import a rootfs with --from-tar' });
  const mirror = image.mirror ?? (await hostMirror());
  const rootfs = await workdir.dir('image', `rootfs-${hash}`);
  const logFile = await workdir.file('logs', `image-${hash}.log`);
  try {
    progress(`debootstrap ${image.suite} with ${image.packages.length} packages (log: ${logFile})`);
    await debootstrap(rootfs, image, mirror, await workdir.dir('image', 'debs'), logFile, signal);
    await finishRootfs(rootfs, logFile, signal);
    progress(`importing the root filesystem as ${ref}`);
    const tar = execa('tar', ['-C', rootfs, '--numeric-owner', '--sort=name', '--mtime=@0', '-c', '.'], {
      buffer: false,
      stderr: 'pipe',
      cancelSignal: signal,
    });
    const id = await engine.images.importRootfs(tar.stdout, ABYSS_REPO, hash, [...IMAGE_CHANGES, ...labelChanges(hash)]);
    await tar;
    return { id, ref, reused: false };
  } catch (err) {
    if (signal?.aborted) throw interrupted('iglu image build');
    throw err;
  } finally {
    // an interrupted debootstrap may leave its /proc and /sys mounted in the root: never
    // remove through them
    await unmountUnder(rootfs);
    await rm(rootfs, { recursive: true, force: true });
  }
}

/**
 * Imports a root filesystem tarball as the farm image, tagged by the sha256 of the file.
 * @throws IgluError when the file cannot be read or the Engine rejects it (not a tarball)
 */
export async function importFarmTar(engine: Engine, file: string, progress: Progress): Promise<FarmImage> {
  const hash = (await sha256File(file)).slice(0, 12);
  const ref = `${ABYSS_REPO}:${hash}`;
  const existing = await engine.images.inspect(ref);
  if (existing) return { id: existing.id, ref, reused: true };
  progress(`importing ${file} as ${ref}`);
  try {
    const id = await engine.images.importRootfs(createReadStream(file), ABYSS_REPO, hash, [...IMAGE_CHANGES, ...labelChanges(hash)]);
    return { id, ref, reused: false };
  } catch (err) {
    if (err instanceof IgluError) throw err;
    throw new IgluError(`the Docker Engine could not import ${file}: ${engineMessage(err)}`, {
      hint: 'give --from-tar a root filesystem tarball (tar, tar.gz, tar.xz or tar.bz2) with /bin/sh and distccd in it',
      cause: err,
    });
  }
}

/**
 * The farm image to use: `ref` when given (must exist on the engine), else `configured`
 * (configuredImageRef: the image iglu.yaml describes, its chroot.buildEnv packages with
 * it) when the engine has it, else the newest image iglu built (one imported with
 * `--from-tar`).
 * @throws IgluError when there is none, with the command that makes one
 */
export async function resolveFarmImage(engine: Engine, ref: string | undefined, configured?: string): Promise<{ id: string; ref: string }> {
  const described = !ref && configured ? await engine.images.inspect(configured) : undefined;
  if (described) return { id: described.id, ref: configured! };
  if (ref) {
    const img = await engine.images.inspect(ref);
    if (!img)
      throw new IgluError(`farm image ${ref} is not on the Docker Engine at ${engine.endpoint}`, {
        hint: 'build it with "iglu image build", or import one with "iglu image build --from-tar ROOTFS.tar"',
      });
    return { id: img.id, ref };
  }
  const newest = (await engine.images.list({ [LABEL.role]: 'abyss' }))[0];
  if (!newest) throw new IgluError('no farm image found on the Docker Engine', { hint: 'run "iglu image build" first (or pass --image REF)' });
  return { id: newest.id, ref: newest.tags[0] ?? newest.id };
}

function labelChanges(hash: string): string[] {
  return Object.entries(labelsFor('abyss', undefined, { [LABEL.spec]: hash })).map(([k, v]) => `LABEL ${k}=${v}`);
}

async function hostMirror(): Promise<string> {
  const dir = '/etc/apt/sources.list.d';
  const files = ['/etc/apt/sources.list', ...(await readdir(dir).catch(() => [])).map((f) => path.join(dir, f))];
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8').catch(() => '')));
  const mirror = mirrorFromAptSources(texts);
  if (!mirror) throw new IgluError('no Debian mirror found in the apt sources', { hint: 'set image.mirror in iglu.yaml' });
  return mirror;
}

async function debootstrap(rootfs: string, image: ImageConfig, mirror: string, cacheDir: string, logFile: string, signal?: AbortSignal): Promise<void> {
  const args = ['--variant=minbase', `--include=${image.packages.join(',')}`, `--cache-dir=${cacheDir}`, image.suite, rootfs, mirror];
  log.image('debootstrap %s', args.join(' '));
  await runLogged('debootstrap', args, logFile, 'apt-get install debootstrap', signal);
}

async function finishRootfs(rootfs: string, logFile: string, signal?: AbortSignal): Promise<void> {
  // distccd serves only compilers with a masquerade link in /usr/lib/distcc (distcc 3.4);
  // the links are made when distcc is configured, which may precede clang's install.
  const script = 'update-distcc-symlinks && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin';
  await runLogged('chroot', [rootfs, '/bin/sh', '-c', script], logFile, 'chroot is part of coreutils', signal);
}

async function sha256File(file: string): Promise<string> {
  try {
    return (await hashFile(file)).sha256;
  } catch (err) {
    throw new IgluError(`cannot read ${file}`, { hint: 'check the path given to --from-tar', cause: err });
  }
}

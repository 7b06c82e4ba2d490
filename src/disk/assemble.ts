import { chmod, lstat, mkdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { interrupted } from '../util/abort.js';
import { installTarball } from '../chroot/install.js';
import type { Config } from '../config/schema.js';
import { IgluError } from '../errors.js';
import { manifestClosure } from '../packages/closure.js';
import { newestManifest, type PackageManifest } from '../packages/manifest.js';
import { PackagePaths } from '../layout/package-paths.js';
import { hashFile } from '../util/hash.js';
import type { Workdir } from '../layout/workdir.js';
import { escapeRegExp, sweepDeadPidEntries } from '../util/leftovers.js';
import { noLinksBelow, writeFileBelow } from '../util/safe-fs.js';
import { initScript } from './init.js';
import { linkBusyboxApplets } from './applets.js';
import { makeEsp, makeRootFs, writeDisk, type ToolRun } from './filesystems.js';
import { checkImageLinkage } from './linkage.js';
import { diskLayout, type DiskLayout } from './layout.js';
import { SOURCE_DATE_EPOCH } from '../layout/in-root.js';

/** A package that went into the image. */
export interface ImagePackage {
  name: string;
  version: string;
  tarballSha256: string;
}

/** The result of `iglu image` (--json). */
export interface ImageResult {
  file: string;
  sha256: string;
  sizeMiB: number;
  kernel: ImagePackage;
  packages: ImagePackage[];
  layout: DiskLayout;
  seconds: number;
}

/** `<image>.manifest.json`: what went into an image, for audits and licences. */
export interface ImageManifest {
  image: { file: string; sha256: string; sizeMiB: number };
  packages: {
    name: string;
    version: string;
    release: string;
    role: 'kernel' | 'root';
    tarballSha256: string;
    recipe: { file: string; sha256: string };
    sources: { url: string; sha256: string }[];
    license?: { sha256: string; spdx?: string };
  }[];
}

/** The manifest of an image made from these packages (the kernel first). Pure. */
export function imageManifest(image: ImageManifest['image'], kernel: PackageManifest, root: PackageManifest[]): ImageManifest {
  const entry = (m: PackageManifest, role: 'kernel' | 'root'): ImageManifest['packages'][number] => ({
    name: m.name,
    version: m.version,
    release: m.release,
    role,
    tarballSha256: m.tarball.sha256,
    recipe: { file: m.recipe.file, sha256: m.recipe.sha256 },
    sources: m.sources.map((x) => ({ url: x.url, sha256: x.sha256 })),
    ...(m.license ? { license: m.license } : {}),
  });
  return { image, packages: [entry(kernel, 'kernel'), ...root.map((m) => entry(m, 'root'))] };
}

/** Inputs of `iglu image`. */
export interface ImageOptions {
  workdir: Workdir;
  config: Config;
  /** Output path (default: <workdir>/iglunix.img). */
  out?: string;
  sizeMiB?: number;
  /** The line init prints (boot.expect). */
  expect: string;
  /** Stops the assembly (Ctrl-C): the running tool is killed, scratch files and the partial image removed. */
  signal?: AbortSignal;
}

/**
 * Unpacks the image's packages into its stage, keeping their setuid and setgid bits (the
 * stage is in a 0700 scratch directory only root reaches: chroot/install.ts InstallPolicy).
 * @throws IgluError naming a package that holds device nodes or FIFOs (iglu does not put
 *   them into the image), or installTarball's
 */
async function stagePackages(packages: { tarball: string; info: { name: string } }[], stage: string): Promise<void> {
  for (const p of packages) {
    const nodes = await installTarball(p.tarball, stage, { keepSpecialModes: true });
    if (nodes.length)
      throw new IgluError(`${p.info.name}: its package holds device nodes or FIFOs (${nodes.slice(0, 3).join(', ')}), which iglu does not put into the image`, {
        hint: "Iglunix mounts devtmpfs on /dev: drop the mknod from the recipe's package()",
      });
  }
}

/**
 * Assembles iglunix.img from built packages without loop mounts or root-only tools:
 * stages a root directory (disk.packages and the packages they need, unpacked, plus
 * iglu's /sbin/init when no package has one as a regular file), checks that every
 * dynamically linked program finds its loader and DT_NEEDED libraries in it
 * (linkage.ts), makes an ext4 image of it with mke2fs -d (fixed UUID and hash seed, E2FSPROGS_FAKE_TIME), sets every
 * inode's owner to 0:0 and its times to SOURCE_DATE_EPOCH with debugfs -w (so ownership
 * does not depend on who runs iglu), checks it with e2fsck -fn; makes a FAT ESP with
 * mkfs.fat --invariant and mtools holding the kernel as \\EFI\\BOOT\\BOOTX64.EFI; writes a
 * GPT with sfdisk on the image file and splices both filesystems in with dd conv=notrunc.
 * Everything happens in a scratch directory; the image is renamed into place at the end,
 * with `<image>.manifest.json` beside it (imageManifest: every package, version, recipe
 * hash, source URLs and sha256, license).
 * @throws IgluError naming a package that has not been built, a program whose loader or
 *   library no package in the image provides, or the tool that failed; `interrupted` when
 *   `o.signal` aborts (the running tool is killed; nothing is left but what was there)
 */
export async function assembleImage(o: ImageOptions, output: (line: string) => void): Promise<ImageResult> {
  const started = Date.now();
  const sizeMiB = o.sizeMiB ?? o.config.disk.sizeMiB;
  const layout = diskLayout(sizeMiB);
  const out = path.resolve(o.out ?? o.workdir.imageFile);
  const { kernel, packages } = await imagePackages(o);
  const scratch = await scratchDir(o.workdir.diskDir, out);
  const tmpImage = `${out}.${process.pid}.tmp`;
  const tmpManifest = `${out}.manifest.json.${process.pid}.tmp`;
  try {
    const stage = await stageRoot(path.join(scratch, 'root'), packages, o.expect, output);
    const vmlinuz = await kernelFile(path.join(scratch, 'kernel'), kernel.tarball, o.config.disk.kernel);
    const run: ToolRun = { env: { E2FSPROGS_FAKE_TIME: String(SOURCE_DATE_EPOCH), SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH) }, signal: o.signal };
    if (o.signal?.aborted) throw interrupted('iglu image');
    output('ext4 root filesystem (mke2fs -d, then debugfs: owners 0:0, fixed times)');
    const rootfs = await makeRootFs(stage, path.join(scratch, 'root.ext4'), layout, run);
    output('ESP (mkfs.fat, mtools): \\EFI\\BOOT\\BOOTX64.EFI');
    const esp = await makeEsp(path.join(scratch, 'esp.fat'), vmlinuz, layout, run);
    output('GPT (sfdisk) and the partitions spliced in (dd conv=notrunc)');
    await writeDisk(tmpImage, sizeMiB, layout, { esp, rootfs }, run);
    const { sha256 } = await hashFile(tmpImage);
    const manifest = imageManifest(
      { file: path.basename(out), sha256, sizeMiB },
      kernel.m,
      packages.map((p) => p.m),
    );
    await writeFile(tmpManifest, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tmpImage, out);
    await rename(tmpManifest, `${out}.manifest.json`);
    return {
      file: out,
      sha256,
      sizeMiB,
      kernel: kernel.info,
      packages: packages.map((p) => p.info),
      layout,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await rm(tmpImage, { force: true });
    await rm(tmpManifest, { force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * disk.packages and, after them, every package they need at run time (their manifests'
 * deps, breadth first: manifestClosure), so an image holds what its programs depend on.
 * @returns the package names in install order, and the manifests read on the way
 * @throws IgluError naming each dependency that has not been built and who needs it; a
 *   listed package that has not been built is left to `find` (its own message)
 */
async function packagesWithDeps(paths: PackagePaths, listed: string[]): Promise<{ names: string[]; manifests: Map<string, PackageManifest> }> {
  const { closure, manifests } = await manifestClosure(listed, (name) => newestManifest(paths.outDir, name));
  const unbuiltDeps = closure.missing.filter((m) => m.neededBy.length && !listed.includes(m.name));
  if (unbuiltDeps.length) {
    throw new IgluError(
      `the image's packages need packages that have not been built: ${unbuiltDeps.map((m) => `${m.name} (needed by ${m.neededBy.join(', ')})`).join('; ')}`,
      { hint: 'build them with iglu chroot build (or iglu toolchain build)' },
    );
  }
  return { names: [...closure.order, ...listed.filter((n) => !closure.order.includes(n))], manifests };
}

/**
 * Stages the image's root directory: the packages unpacked (stagePackages), the
 * directories a system needs, /sbin/init (a package's own as a regular file wins; else
 * iglu's, which prints `expect`), busybox's applet links, and every dynamically linked
 * program checked to find its loader and libraries (linkage.ts).
 * @returns the stage
 * @throws IgluError for a refused package entry or a program whose loader or library is missing
 */
async function stageRoot(stage: string, packages: { tarball: string; info: ImagePackage }[], expect: string, output: (line: string) => void): Promise<string> {
  output(`stage the root: ${packages.map((p) => p.info.name).join(', ')}`);
  await stagePackages(packages, stage);
  // never through a link a package put there: links in the stage point into the guest
  for (const d of ['dev', 'proc', 'sys', 'tmp', 'root', 'etc', 'sbin', 'run']) await mkdir(await noLinksBelow(stage, d), { recursive: true });
  await chmod(await noLinksBelow(stage, 'tmp'), 0o1777);
  // a package's /sbin/init as a regular file (the iglunix base package's, with its smoke
  // test) wins; iglu writes its own into a root without one, replacing anything else there
  if ((await lstat(path.join(await noLinksBelow(stage, 'sbin'), 'init')).catch(() => undefined))?.isFile()) output('/sbin/init from the packages');
  else await utimes(await writeFileBelow(stage, 'sbin/init', await initScript(expect), 0o755), SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH);
  const applets = await linkBusyboxApplets(stage);
  if (applets) output(`${applets} busybox applet links`);
  const linked = await checkImageLinkage(stage);
  output(`${linked.length} dynamically linked ELF files find their loader and libraries`);
  return stage;
}

/** An image package: its manifest, tarball and what the result reports of it. */
interface ImagePart {
  m: PackageManifest;
  tarball: string;
  info: ImagePackage;
}

/**
 * The kernel package and the root's packages (disk.packages and what they need) of the image.
 * @throws IgluError naming a package that has not been built
 */
async function imagePackages(o: ImageOptions): Promise<{ kernel: ImagePart; packages: ImagePart[] }> {
  const pkgPaths = new PackagePaths(o.workdir);
  const { names, manifests } = await packagesWithDeps(pkgPaths, o.config.disk.packages);
  const find = async (name: string): Promise<ImagePart> => {
    const m = manifests.get(name) ?? (await newestManifest(pkgPaths.outDir, name));
    if (!m)
      throw new IgluError(`${name} has not been built: no out/${name}.*.json`, {
        hint: name === o.config.disk.kernel ? `build it with iglu chroot build ${name}` : 'build it with iglu toolchain build / iglu chroot build',
      });
    return { m, tarball: path.join(pkgPaths.outDir, m.tarball.file), info: { name, version: m.version, tarballSha256: m.tarball.sha256 } };
  };
  return { kernel: await find(o.config.disk.kernel), packages: await Promise.all(names.map(find)) };
}

/**
 * This run's scratch directory `<disk>/build.<pid>`, empty and root's alone (the stage
 * keeps packages' setuid bits for the image), after removing what a killed `iglu image`
 * left: its scratch directory and its temporary image beside `out`.
 */
async function scratchDir(disk: string, out: string): Promise<string> {
  // what a killed `iglu image` left: its scratch directory and temporary image
  await sweepDeadPidEntries(disk, /^build\.(\d+)$/);
  await sweepDeadPidEntries(path.dirname(out), new RegExp(`^${escapeRegExp(path.basename(out))}\\.(\\d+)\\.tmp$`));
  const scratch = path.join(disk, `build.${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  // the stage keeps packages' setuid bits for the image: only root may reach it
  await chmod(path.dirname(scratch), 0o700);
  await chmod(scratch, 0o700);
  return scratch;
}

/**
 * The kernel package's boot/vmlinuz, unpacked into `dir`.
 * @throws IgluError when it is not a regular file there
 */
async function kernelFile(dir: string, tarball: string, name: string): Promise<string> {
  await installTarball(tarball, dir);
  const vmlinuz = await noLinksBelow(dir, 'boot/vmlinuz');
  if (!(await lstat(vmlinuz).catch(() => undefined))?.isFile())
    throw new IgluError(`${name}: boot/vmlinuz is not a regular file in ${tarball}`, {
      hint: 'the kernel package must ship the EFI-stub kernel itself at boot/vmlinuz',
    });
  return vmlinuz;
}

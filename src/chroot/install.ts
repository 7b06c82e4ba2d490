import { cp, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import * as tar from 'tar';
import { tailLines } from '../util/tail.js';
import { describe, IgluError } from '../errors.js';
import { noLinksBelow } from '../util/safe-fs.js';
import { exists } from '../util/exists.js';
import { UAPI_DIRS } from './target-script.js';

/** Mode bits a package may ship for its image but never on the host: setuid and setgid (chmod(2)). */
const SPECIAL_MODE_BITS = 0o6000;

/** Entry types a tarball may hold that node-tar cannot make and iglu never makes on the host (tar(5): 3, 4, 6). */
const NODE_TYPES = new Set(['CharacterDevice', 'BlockDevice', 'FIFO']);

/** What the host must not get from a package: its setuid/setgid bits and its device nodes. */
export interface InstallPolicy {
  /**
   * Keep setuid/setgid bits: only for a tree that becomes the image and that only root can
   * reach (a 0700 scratch directory). Everywhere else (sysroots the builds read) they are
   * cleared, so a package's setuid-root file is never a root shell on the host.
   */
  keepSpecialModes?: boolean;
}

/**
 * Unpacks a package tarball (.tar.zst) into `dir` (a sysroot, a staged image root),
 * keeping numeric owners and modes — but for setuid and setgid bits, which are cleared
 * unless `policy.keepSpecialModes` — with zstd -dc into node-tar's extractor, which refuses
 * absolute names and `..`, and never extracts through a symbolic link (a link a package
 * put at usr/ cannot send a later file to the host's /usr). Symbolic links are made last,
 * by hand, below real directories only: node-tar (7.5) refuses a link whose target is
 * already a link (libc++.so -> libc++.so.1 when the package is installed again), and
 * would strip the / of an absolute target (a guest's /bin/busybox). A relative link whose
 * target leaves the package is refused. Device nodes and FIFOs are never made (a build
 * needs none; the image's /dev is devtmpfs) and are returned. Files the package shares
 * with what is there are replaced; nothing is removed.
 * @returns the device and FIFO entries left out, as the tarball names them
 * @throws IgluError naming the tarball when zstd fails or an entry is refused
 */
export async function installTarball(tarball: string, dir: string, policy: InstallPolicy = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const zstd = execa('zstd', ['-dc', tarball], { stdout: 'pipe', buffer: false, reject: false, stderr: 'pipe' });
  const refused: string[] = [];
  const links: { path: string; target: string }[] = [];
  const nodes: string[] = [];
  const extract = tar.x({
    cwd: dir,
    preservePaths: false,
    filter: (p, entry) => {
      const e = entry as tar.ReadEntry;
      if (NODE_TYPES.has(e.type)) {
        nodes.push(p);
        return false;
      }
      if (!policy.keepSpecialModes && typeof e.mode === 'number') e.mode &= ~SPECIAL_MODE_BITS;
      if (e.type !== 'SymbolicLink') return true;
      links.push({ path: p.replace(/^(\.\/)+/, ''), target: e.linkpath ?? '' });
      return false;
    },
    preserveOwner: process.getuid?.() === 0,
    unlink: true,
    umask: 0,
    strict: true,
    onwarn: (code, message) => { refused.push(`${code}: ${message}`); },
  });
  try {
    await Promise.all([pipeline(zstd.stdout, extract), zstd]);
  } catch (err) {
    const z = await zstd;
    const refusedEntry = entryRefusal(err);
    if (refusedEntry) throw new IgluError(`cannot install ${tarball} into ${dir}: ${refusedEntry}`, { hint: 'the package holds a link that leads out of it: package() must make relative links that stay inside the package (an absolute link, /usr/lib/x, is kept as it is for the image)', cause: err });
    throw new IgluError(`cannot install ${tarball} into ${dir}: ${tailLines(String(z.stderr ?? '') || (err as Error).message, 3)}`, { hint: 'rebuild the package (--rebuild) if its tarball is damaged', cause: err });
  }
  if (refused.length) throw new IgluError(`cannot install ${tarball} into ${dir}: ${refused.slice(0, 3).join('; ')}`, { hint: 'the package holds entries iglu refuses (absolute names, .., or files under a symbolic link): fix the recipe\'s package()' });
  await makeLinks(tarball, dir, links);
  return nodes;
}

/**
 * Makes a package's symbolic links in `dir` (paths relative to it), each below real
 * directories only, replacing what is at its path.
 * @throws IgluError naming the tarball and the link: a relative target that leaves the
 *   package, a link below another link, a directory where the link goes
 */
async function makeLinks(tarball: string, dir: string, links: { path: string; target: string }[]): Promise<void> {
  const leaving = links.find((l) => !l.target.startsWith('/') && /^\.\.(\/|$)/.test(path.posix.normalize(path.posix.join(path.posix.dirname(l.path), l.target))));
  if (leaving) {
    throw new IgluError(`cannot install ${tarball} into ${dir}: ${leaving.path} -> ${leaving.target}: linkpath escapes extraction directory`, {
      hint: 'the package holds a link that leads out of it: package() must make relative links that stay inside the package (an absolute link, /usr/lib/x, is kept as it is for the image)',
    });
  }
  for (const link of links) {
    try {
      const parent = await noLinksBelow(dir, path.dirname(link.path) === '.' ? '' : path.dirname(link.path), true);
      const at = path.join(parent, path.basename(link.path));
      await rm(at, { force: true });
      await symlink(link.target, at);
    } catch (err) {
      throw new IgluError(`cannot install ${tarball} into ${dir}: ${link.path}: ${describe(err)}`, {
        hint: "the package holds a link under a symbolic link, or a link and a directory at one path: fix the recipe's package()",
        cause: err,
      });
    }
  }
}

/**
 * What node-tar refused about one entry (a relative link whose target leaves the package:
 * `TAR_ENTRY_ERROR` "linkpath escapes extraction directory"), naming the entry and its
 * target; undefined for any other error (a damaged stream). Pure.
 */
export function entryRefusal(err: unknown): string | undefined {
  const e = err as { tarCode?: string; entry?: { path?: string }; linkpath?: string; message?: string };
  if (e?.tarCode !== 'TAR_ENTRY_ERROR' || !e.entry?.path) return undefined;
  return `${e.entry.path.replace(/^\.\//, '')}${e.linkpath ? ` -> ${e.linkpath}` : ''}: ${(e.message ?? 'refused').replace(/^TAR_\w+: /, '')}`;
}

/**
 * Which of the base's Linux UAPI header directories a sysroot gets, as paths relative to
 * the base's usr/include and to the sysroot's: the UAPI_DIRS it has, and asm/ from
 * usr/include/asm or, on a multiarch base such as Debian, usr/include/<triple>/asm.
 * @returns [from, to] pairs (empty when the base has none)
 */
export async function kernelHeaderDirs(root: string, multiarch = 'x86_64-linux-gnu'): Promise<[string, string][]> {
  const from = path.join(root, 'usr/include');
  const dirs: [string, string][] = [];
  for (const d of UAPI_DIRS) if (await exists(path.join(from, d))) dirs.push([d, d]);
  for (const asm of ['asm', `${multiarch}/asm`]) {
    if (await exists(path.join(from, asm))) {
      dirs.push([asm, 'asm']);
      break;
    }
  }
  return dirs;
}

/**
 * Copies the base's Linux UAPI headers (kernelHeaderDirs) into the sysroot's usr/include
 * (what `linux` in chroot.base stands for: programs such as busybox include <linux/*.h>).
 * @returns the directories copied, as named in the sysroot (empty when the base has none)
 */
export async function copyKernelHeaders(root: string, sysroot: string, multiarch = 'x86_64-linux-gnu'): Promise<string[]> {
  const to = path.join(sysroot, 'usr/include');
  await mkdir(to, { recursive: true });
  const dirs = await kernelHeaderDirs(root, multiarch);
  for (const [from, into] of dirs) await cp(path.join(root, 'usr/include', from), path.join(to, into), { recursive: true, verbatimSymlinks: true });
  return dirs.map(([, into]) => into);
}

/**
 * Lets the build root run programs built for the target, as Iglunix runs them: when the
 * sysroot holds musl's dynamic libc (`usr/lib/libc.so`, which is also musl's dynamic
 * loader), the build root gets `/lib/ld-musl-ARCH.so.1` pointing at it and
 * `/etc/ld-musl-ARCH.path` naming the sysroot's library directories (musl's loader reads
 * that file for its search path: musl's ldso/dynlink.c). So a build's own helpers (a
 * kernel's HOSTCC tools, a configure test) and its finished programs run in the build
 * root without touching the base's glibc. Links and the path file are replaced each time.
 * @returns true when musl's loader was set up, false when the sysroot has no dynamic musl
 */
export async function exposeTargetLoader(root: string, sysroot: string, arch = 'x86_64'): Promise<boolean> {
  const libc = path.join(sysroot, 'usr/lib/libc.so');
  if (!(await exists(libc))) return false;
  const inside = `/${path.relative(root, sysroot)}`;
  await mkdir(path.join(root, 'lib'), { recursive: true });
  const loader = path.join(root, 'lib', `ld-musl-${arch}.so.1`);
  await rm(loader, { force: true });
  await symlink(`${inside}/usr/lib/libc.so`, loader);
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await writeFile(path.join(root, 'etc', `ld-musl-${arch}.path`), `${inside}/lib\n${inside}/usr/lib\n`);
  return true;
}

/**
 * Points the build root's `/usr/bin/cc` and `/usr/bin/c++` — and `/usr/bin/clang` and
 * `clang++` when the base keeps its real clang in `/usr/lib/llvm-VERSION/bin`, as Debian
 * does — at the target's compiler wrapper (`targetBin`/cc, clang aimed at musl in the
 * sysroot), so a recipe that calls the compiler by absolute path (Iglunix's musl links
 * `/usr/bin/cc` as `$ARCH-linux-musl-cc`) gets the Iglunix target too, as on Iglunix
 * itself. The links lead into the runner's bind mount and resolve only inside the
 * sandbox. Replaced each time (never followed).
 * @returns the paths relinked, relative to the root
 */
export async function linkTargetCompilers(root: string, targetBin: string): Promise<string[]> {
  const linked: string[] = [];
  const llvmDirs = (await readdir(path.join(root, 'usr/lib')).catch(() => [] as string[])).filter((d) => /^llvm-\d+$/.test(d));
  const realClang = (await Promise.all(llvmDirs.map((d) => exists(path.join(root, 'usr/lib', d, 'bin/clang'))))).some(Boolean);
  for (const name of realClang ? ['cc', 'c++', 'clang', 'clang++'] : ['cc', 'c++']) {
    const at = path.join(await noLinksBelow(root, 'usr/bin', true), name);
    await rm(at, { force: true });
    await symlink(path.posix.join(targetBin, name), at);
    linked.push(`usr/bin/${name}`);
  }
  return linked;
}

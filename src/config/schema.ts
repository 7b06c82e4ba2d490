import { z } from 'zod';
import { ServeSchema } from './serve-schema.js';

/**
 * The iglu.yaml schema. Every key is optional; defaults make an empty file (or no file)
 * a working single-machine setup. Unknown keys are errors (strict objects), so a typo
 * never silently does nothing.
 */

const endpoint = z.string().regex(/^(unix|tcp|ssh):\/\/\S+$/, 'must be a unix://, tcp:// or ssh:// Docker endpoint');

const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'must be an IPv4 address');
const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR such as 10.214.0.0/16');

/** One extra engine of the farm: its Docker endpoint and the address it advertises to the swarm. */
export const NodeSchema = z.strictObject({
  endpoint,
  advertiseAddr: ipv4.optional(),
});

export const FarmSchema = z
  .strictObject({
    /** Farm name: the value of the iglu.farm label and the prefix of service names. */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'lower-case letters, digits and -')
      .default('iglu'),
    /** Overlay network the distccd tasks and client containers share. */
    network: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/)
      .default('iglu-farm'),
    /** Encrypt the overlay (IPsec ESP); refused where the kernel lacks CONFIG_INET_ESP. */
    encrypted: z.boolean().default(false),
    /**
     * Replicated tasks instead of one per node. Absent (the default), the farm is global:
     * one distccd task on every node, each with its node's CPUs — what a farm of whole
     * machines wants; replicas can put several tasks on one node (they share its CPUs).
     */
    replicas: z.int().min(1, 'must be at least 1').optional(),
    /** One task on every node (the default when `replicas` is absent). */
    global: z.boolean().optional(),
    /** Farm image reference (tag or sha256 ID); default: the newest image from `iglu image build`. */
    image: z.string().optional(),
    /** Address this engine advertises when iglu initialises the swarm. */
    advertiseAddr: ipv4.optional(),
    /** Swarm default address pool, used only when iglu initialises the swarm. */
    addrPool: cidr.default('10.214.0.0/16'),
    addrPoolMaskLength: z.int().min(16).max(28).default(24),
    /** Compiler names distccd serves (DISTCC_CMDLIST). */
    compilers: z
      .array(z.string().regex(/^[A-Za-z0-9_.+-]+$/))
      .min(1)
      .default(['clang', 'clang++', 'cc', 'c++']),
    /** distccd TCP port inside the overlay. */
    port: z.int().min(1).max(65535).default(3632),
    /** Seconds to wait for tasks to run and accept connections. */
    readyTimeout: z.number().positive().default(120),
    /** Extra engines (swarm nodes) iglu joins and puts the image on. */
    nodes: z.array(NodeSchema).default([]),
    /**
     * LZO compression of what distcc sends (`,lzo` on a DISTCC_HOSTS entry, distcc(1)
     * "COMPRESSION": worth it on networks slower than 100 Mbit/s). `auto`: for the tasks on
     * other machines than the manager, whose traffic crosses a real network; `lzo`: all;
     * `none`: never.
     */
    compression: z.enum(['auto', 'lzo', 'none']).default('auto'),
    /**
     * A farm build (the toolchain phase, `chroot build --farm`) when every task runs on the
     * machine that builds — a one-node farm: `here` compiles there directly, through the
     * same wrappers and distcc (DISTCC_HOSTS=localhost), counted as local, since sending
     * compiles to a task on the same CPUs only adds distcc's own cost; `distcc` sends them
     * to the tasks anyway (what the tests of the farm path do on one machine).
     */
    oneNode: z.enum(['here', 'distcc']).default('here'),
    /** A Compose file merged over iglu's stacks/farm.yaml: resources, placement, labels, mode, image of the distccd service. */
    stack: z.string().min(1).optional(),
  })
  .superRefine((f, ctx) => {
    if (f.global === true && f.replicas !== undefined)
      ctx.addIssue({ code: 'custom', path: ['replicas'], message: 'replicas and global: true exclude each other; drop one' });
  })
  .transform((f) => ({
    ...f,
    global: f.global ?? f.replicas === undefined,
    replicas: f.replicas ?? 1,
    /** Whether iglu.yaml chose the mode (else the stack file's deploy.mode applies: farm/stack.ts). */
    modeSet: f.global !== undefined || f.replicas !== undefined,
  }));

/** A Debian package name (Debian Policy 5.6.1: lower case, digits, + - .; at least two characters). */
const DebianPackage = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'not a Debian package name');

export const ImageSchema = z.strictObject({
  /** Debian suite debootstrap installs. */
  suite: z.string().default('bookworm'),
  /** Debian packages of the farm image (the toolchain the farm needs). */
  packages: z
    .array(DebianPackage)
    .default([
      'distcc',
      'clang',
      'lld',
      'llvm',
      'make',
      'cmake',
      'ninja-build',
      'python3',
      'ca-certificates',
      'xz-utils',
      'bzip2',
      'zstd',
      'file',
      'mksh',
      'patch',
      'flex',
      'bison',
      'bc',
      'libelf-dev',
      'bubblewrap',
      'nginx',
      'curl',
    ]), // flex to libelf-dev: the Linux build; bubblewrap: the --farm build's sandbox; nginx: the package store service (WebDAV PUT); curl: the spread jobs' store transfers
  /** Debian mirror URL for debootstrap; default: the first URI of the host's apt sources. */
  mirror: z.string().url().optional(),
});

export const ChrootSchema = z.strictObject({
  /**
   * Packages the base sysroot already provides: they satisfy dependencies and are not
   * built, as Iglunix's own bootstrap did with empty placeholder packages.
   */
  base: z.array(z.string()).default(['llvm']),
  /**
   * Names recipes ask for that the build environment (the farm image) provides, each with
   * the Debian package that brings it (`bmake: bmake`, `python-mako: python3-mako`): they
   * satisfy dependencies as chroot.base does and are never built, and their packages join
   * image.packages (a new farm image). Nothing comes from the environment unless listed
   * here, in chroot.base, or as a `bad:` tool.
   */
  buildEnv: z.record(z.string().min(1), DebianPackage).default({}),
  /**
   * What a package's build sees in its sysroot besides the toolchain: "declared", the
   * packages its recipe names in deps and mkdeps (iglu's own tree: builds independent of
   * order); "planned", also every package the run's plan builds before it, as
   * iglunix-autobuild's builds saw everything built before them (real Iglunix recipes that
   * under-declare, such as mandoc's zlib.h). Planned builds wait for all that comes before
   * them, so they do not build side by side.
   */
  sysroot: z.enum(['declared', 'planned']).default('declared'),
  /**
   * Build dependencies added to recipes that under-declare them, with the tree left as it
   * is (`mandoc: [zlib-ng]`, `libedit: [netbsd-curses]`): each name joins that recipe's
   * mkdeps, so its sysroot holds it, it builds after it and rebuilds when it changes.
   * Keys are pkgnames of the tree.
   */
  mkdeps: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
});

export const ToolchainSchema = z.strictObject({
  /**
   * Packages `iglu toolchain build` builds on the farm when none are named: musl and what
   * Iglunix's llvm gives the target (compiler-rt; libcxx: libc++, libc++abi, libunwind).
   * Every chroot build's sysroot holds them. Empty for a build root that needs none (its
   * sysroot gets nothing from the farm).
   */
  packages: z.array(z.string().min(1)).default(['musl-headers', 'compiler-rt', 'musl', 'libcxx']),
});

export const SourcesSchema = z.strictObject({
  /** Never download: every source must already be in the cache (seed it first). */
  offline: z.boolean().default(false),
  /**
   * Hosts (by name, as URLs spell them) a download may reach although they resolve to a
   * loopback, private, link-local or unique-local address: a mirror of your own network.
   */
  allowHosts: z.array(z.string().min(1)).default([]),
  /** The largest source a download may bring, MiB. */
  maxMiB: z.number().int().positive().default(4096),
});

export const DiskSchema = z.strictObject({
  /** Packages (from out/) unpacked into the image's root filesystem. */
  packages: z.array(z.string().min(1)).min(1).default(['musl', 'toybox', 'busybox', 'mksh', 'zlib', 'zstd', 'iglunix']),
  /** The package whose boot/vmlinuz (an EFI-stub bzImage) boots the image. */
  kernel: z.string().min(1).default('linux'),
  /** Size of iglunix.img, MiB (32 of them are the ESP). */
  sizeMiB: z.int().min(42, 'must be at least 42 (32 MiB ESP + 8 MiB root + GPT)').default(64),
});

export const BootSchema = z.strictObject({
  /** The line the image's init prints once the system is up. */
  expect: z.string().min(1).default('IGLUNIX BOOT OK'),
  /** The line the image's init prints when its smoke test failed (a failed boot, with the checks named). */
  fail: z.string().min(1).default('IGLUNIX BOOT FAILED'),
  /** Seconds before a boot counts as failed. */
  timeout: z.number().positive().default(120),
  /** RAM of the guest, MiB; overrides the machine definition's memoryMiB. */
  memoryMiB: z.int().min(32).optional(),
  /** Machine definitions (firmware, machine type, memory, devices) to boot with; default: iglu's qemu/machines.yaml. */
  machines: z.string().min(1).optional(),
});

/** What one package's build may use (sandbox/limits.ts applies them). */
const LimitValues = {
  /** Wall time of build() and package(), seconds; a build past it is killed and reported as timed out. */
  wallSeconds: z.int().min(1),
  /** Memory, MiB: the address space of each process in the sandbox (RLIMIT_AS); a swarm job's whole container. */
  memoryMiB: z.int().min(64),
  /** Processes at once (RLIMIT_NPROC of the sandbox's uid; a swarm job's pids limit). */
  processes: z.int().min(16),
  /** The size of the sandbox's /tmp (tmpfs), MiB. */
  tmpMiB: z.int().min(1),
  /**
   * A swarm job's output (--spread), MiB: what its node keeps (json-file log, rotated in two
   * files of this size) and what iglu keeps of it in logs/<pkg>.log (its first and last
   * parts, with a note of what was left out between).
   */
  logMiB: z.int().min(1),
};

export const LimitsSchema = z.strictObject({
  wallSeconds: LimitValues.wallSeconds.default(4 * 3600),
  memoryMiB: LimitValues.memoryMiB.default(8192),
  processes: LimitValues.processes.default(4096),
  tmpMiB: LimitValues.tmpMiB.default(4096),
  logMiB: LimitValues.logMiB.default(64),
  /** Per package (by pkgname): any of the limits above, over the defaults. */
  packages: z
    .record(
      z.string().min(1),
      z.strictObject({
        wallSeconds: LimitValues.wallSeconds.optional(),
        memoryMiB: LimitValues.memoryMiB.optional(),
        processes: LimitValues.processes.optional(),
        tmpMiB: LimitValues.tmpMiB.optional(),
        logMiB: LimitValues.logMiB.optional(),
      }),
    )
    .default({}),
});

export const ConfigSchema = z.strictObject({
  /** Work directory for all state (sources, packages, logs, images, locks). */
  workdir: z.string().optional(),
  docker: z.strictObject({ host: endpoint.optional() }).prefault({}),
  farm: FarmSchema.prefault({}),
  image: ImageSchema.prefault({}),
  chroot: ChrootSchema.prefault({}),
  toolchain: ToolchainSchema.prefault({}),
  sources: SourcesSchema.prefault({}),
  disk: DiskSchema.prefault({}),
  boot: BootSchema.prefault({}),
  limits: LimitsSchema.prefault({}),
  serve: ServeSchema.prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type FarmConfig = Config['farm'];
export type NodeConfig = z.infer<typeof NodeSchema>;
export type ImageConfig = Config['image'];
export type LimitsConfig = Config['limits'];
export type ServeConfig = Config['serve'];

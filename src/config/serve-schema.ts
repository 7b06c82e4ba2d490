import { z } from 'zod';

/** A duration in seconds, with its default. */
const sec = (seconds: number) => z.number().positive().default(seconds);

/**
 * `iglu serve`: the build service. Its tasks build over `branches` (a branch is a recipe
 * tree; `main` defaults to the tree iglu ships), each as a spread chroot build.
 */
export const ServeSchema = z.strictObject({
  /** Where the REST API and dashboard listen, HOST:PORT (loopback by default; put a TLS proxy in front for other machines). */
  listen: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'must be HOST:PORT, e.g. 127.0.0.1:7373')
    .default('127.0.0.1:7373'),
  /** Branch name → recipe tree (a directory on the manager). */
  branches: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ -'), z.string().min(1)).default({}),
  /** Wall-time limit of one task, seconds (construir's two hours). */
  timeout: z.int().min(1).default(7200),
  /** Finished tasks, and queue/done entries, older than this many seconds are removed. */
  retention: z
    .int()
    .min(60)
    .default(14 * 24 * 3600),
  /** The largest bundle the service takes, MiB (as uploaded, compressed or not). */
  maxBundleMiB: z.int().min(1).default(256),
  /** The most a bundle may hold once unpacked, MiB. */
  maxUnpackedMiB: z.int().min(1).default(1024),
  /** Tasks one token may have open (created, queued or building) at once; one more is refused with 429. The queue directory has no limit. */
  maxOpenTasks: z.int().min(1).default(20),
  /** Bytes one token's tasks may keep on disk (bundles and artifacts), MiB; an upload past it is refused with 413. */
  maxStoredMiB: z.int().min(1).default(4096),
  /** A task never queued this many seconds after its creation is cancelled and its bundle removed. */
  unqueuedSeconds: z
    .int()
    .min(60)
    .default(24 * 3600),
  /**
   * Listen on an address other than loopback, where tokens cross the network in clear
   * text: refused unless true (then a TLS proxy in front is the user's to set up).
   */
  allowPlaintextRemote: z.boolean().default(false),
  /**
   * HTTP connections (serve/connections.ts): `max` open at once (past it a new one is closed at once), and seconds
   * for a request's headers, a whole request (a bundle's body included), a silent connection, an idle keep-alive.
   */
  connections: z
    .strictObject({ max: z.int().min(1).default(512), headersSeconds: sec(20), requestSeconds: sec(900), idleSeconds: sec(120), keepAliveSeconds: sec(5) })
    .prefault({}),
});

import { chown, mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { IgluError } from '../errors.js';
import { SANDBOX_ID } from './argv.js';

/**
 * Unpacks an untrusted tar (what a recipe left in a client container, what a spread job
 * sent back) into `dir` the way a local build would have made it: GNU tar runs as the
 * sandbox's unprivileged uid (SANDBOX_ID, dropped by setpriv(1) with no groups and
 * `no_new_privs`), started in `dir` (made and given to that uid first), so nothing it
 * makes belongs to root, a setuid bit it keeps (`-p`) is the sandbox uid's own, and it
 * cannot make a device node (mknod(2) needs CAP_MKNOD), write outside `dir` where that uid
 * may not, or reach `dir` through a parent it could not cross (the 0700 work trees: the
 * process starts with `dir` as its working directory). GNU tar strips leading `/` and
 * refuses `..` members. Without root (tests of pure logic) tar runs as the caller.
 * @param input the tar stream (a stream: the sandbox's uid may not open a host file)
 * @param members what to extract (tar's member list), all when empty
 * @param signal stops tar (SIGTERM) when it aborts
 * @throws IgluError with tar's first complaint, naming a device node when the archive
 *   held one ("Cannot mknod: Operation not permitted")
 */
export async function untarAsSandbox(
  input: Readable,
  dir: string,
  opts: { stripComponents?: number; members?: string[]; what: string; signal?: AbortSignal },
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const root = process.getuid?.() === 0;
  if (root) await chown(dir, SANDBOX_ID, SANDBOX_ID);
  const tarArgs = [
    'tar',
    '-x',
    '-p',
    '--no-same-owner',
    '-C',
    '.',
    ...(opts.stripComponents ? [`--strip-components=${opts.stripComponents}`] : []),
    '-f',
    '-',
    ...(opts.members?.length ? ['--', ...opts.members] : []),
  ];
  const argv = root ? ['setpriv', '--reuid', String(SANDBOX_ID), '--regid', String(SANDBOX_ID), '--clear-groups', '--no-new-privs', '--', ...tarArgs] : tarArgs;
  const cancel = opts.signal ? { cancelSignal: opts.signal } : {};
  const child = execa(argv[0]!, argv.slice(1), { cwd: dir, stdin: 'pipe', reject: false, stderr: 'pipe', env: { LC_ALL: 'C' }, ...cancel });
  const [res] = await Promise.all([child, pipeline(input, child.stdin).catch(() => undefined)]);
  opts.signal?.throwIfAborted();
  if (res.exitCode === 0) return;
  const lines = String(res.stderr ?? '')
    .split('\n')
    .filter((l) => l && !/Exiting with failure status/.test(l));
  const device = lines.find((l) => /Cannot mknod/.test(l));
  if (device)
    throw new IgluError(`${opts.what} holds a device node or FIFO: ${device.replace(/^tar: /, '')}`, {
      hint: "iglu never makes device nodes on the host; Iglunix mounts devtmpfs on /dev: drop the mknod from the recipe's package()",
    });
  throw new IgluError(`cannot unpack ${opts.what}: ${lines[0]?.replace(/^tar: /, '') ?? `tar exited ${res.exitCode}`}`, { hint: "see the package's log" });
}

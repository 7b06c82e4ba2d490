import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Bind } from '../chroot/mounts.js';
import { CHROOT_SCRIPTS, DISTCC_FORWARD, DISTCC_IN, RUNNER_IN } from '../layout/in-root.js';
import type { FarmHost } from './hosts.js';

/**
 * distcc for a sandbox with no network but lo. Recipe code must not reach the farm's
 * overlay (the package store, the other tasks' ports, anything a task could serve), yet
 * its compiles must reach the distccd tasks. distcc(1) can speak its protocol over a
 * command's stdin and stdout instead of TCP ("HOST SPECIFICATIONS": `@HOST` runs
 * `$DISTCC_SSH HOST distccd --inetd`; distccd answers the same protocol either way), so
 * the sandbox gets the hosts as `@ADDRESS/LIMIT,…` and DISTCC_SSH = chroot/distcc-connect,
 * which joins them to a Unix socket bound in read-only; outside the sandbox,
 * chroot/distcc-forward (the container's main process) takes each connection to the one
 * task it names, if the allow list has it, and to nothing else.
 */

/**
 * DISTCC_HOSTS through the forwarder: every TCP host `ADDRESS[:PORT]/LIMIT[,OPTIONS]`
 * becomes `@ADDRESS/LIMIT[,OPTIONS]` (the forwarder knows the port); `localhost` and the
 * `--localslots` options stay as they are. Pure.
 */
export function socketHosts(distccHosts: string): string {
  return distccHosts
    .split(/\s+/)
    .filter(Boolean)
    .map((h) => h.replace(/^(\d+\.\d+\.\d+\.\d+)(?::\d+)?(?=\/|,|$)/, '@$1'))
    .join(' ');
}

/**
 * The forwarder's allow list: one `ADDRESS PORT` line per task. Pure.
 * @throws Error for an address that is not dotted IPv4 (the list comes from the Engine's tasks)
 */
export function allowList(hosts: Pick<FarmHost, 'ip'>[], port = 3632): string {
  for (const h of hosts) if (!/^\d+\.\d+\.\d+\.\d+$/.test(h.ip)) throw new Error(`not a task address: ${h.ip}`);
  return hosts.map((h) => `${h.ip} ${port}\n`).join('');
}

/**
 * What a build's environment adds for distcc through the forwarder (socketHosts). Pure.
 * @param socket the forwarder's socket as the build sees it (a sandbox: SOCKET_BIND's; a spread job: the container's own)
 */
export function socketEnv(distccHosts: string, socket = `${DISTCC_IN}/socket`): Record<string, string> {
  return { DISTCC_HOSTS: socketHosts(distccHosts), DISTCC_SSH: `${RUNNER_IN}/distcc-connect`, IGLU_DISTCC_SOCKET: socket };
}

/** The forwarder's socket directory, read-only inside the sandbox. */
export const SOCKET_BIND: Bind = { host: DISTCC_FORWARD.dir, inside: DISTCC_IN, readOnly: true };

/** Seconds the forwarder waits for a connection's first line (the task it names) before it closes it. */
export const FORWARD_TIMEOUT_S = 10;

/**
 * How many connections the forwarder serves at once: distcc opens one per compile it
 * sends, at most the farm's slots at a time (each host's limit in DISTCC_HOSTS, counted
 * by its lock files), so twice the slots, and never fewer than 16. Pure.
 */
export function forwarderConnections(slots: number): number {
  return Math.max(16, 2 * slots);
}

/**
 * The command of a container that forwards distcc (its main process under docker-init,
 * which REAP_SCRIPT spares): chroot/distcc-forward's text run by the farm image's perl,
 * so it needs no file in the container (nor a new farm image when it changes). The
 * sandbox is not trusted: at most `connections` (forwarderConnections) are served at once,
 * and one whose first line is not in within FORWARD_TIMEOUT_S is closed.
 * @throws the file system's error when the script cannot be read
 */
export async function forwarderCmd(connections: number): Promise<string[]> {
  const source = await readFile(path.join(CHROOT_SCRIPTS, 'distcc-forward'), 'utf8');
  return ['perl', '-e', source, '--', DISTCC_FORWARD.socket, DISTCC_FORWARD.allow, String(connections), String(FORWARD_TIMEOUT_S)];
}

/** The shell command that writes the allow list in the container (whole, then renamed into place). Pure. */
export function allowCommand(hosts: Pick<FarmHost, 'ip'>[], port = 3632): string[] {
  const tmp = `${DISTCC_FORWARD.allow}.tmp`;
  return ['sh', '-c', `printf '%s' "$1" > ${tmp} && mv ${tmp} ${DISTCC_FORWARD.allow}`, 'allow', allowList(hosts, port)];
}

import { PassThrough } from 'node:stream';
import type { Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';
import type { FarmConfig } from '../config/schema.js';
import type { FarmHost } from './hosts.js';
import { withHosts, type FarmStatus } from './status.js';

/**
 * The canary compile, run in a build container (the client's side): one C and one C++
 * source, compiled by the container's own clang (the one the target wrappers run,
 * chroot/target-bin/cc) with the target's flags, then by each task given as an argument
 * (`IP`) through distcc alone — DISTCC_HOSTS=IP:PORT/1, DISTCC_FALLBACK=0 and
 * DISTCC_SKIP_LOCAL_RETRY=1 so that nothing runs locally instead (distcc(1),
 * "ENVIRONMENT VARIABLES"), a fresh DISTCC_DIR so no earlier backoff skips a host. Prints
 * `canary WHERE LANG EXIT SHA256 LAST-STDERR-LINE` per compile (WHERE `local` or the IP,
 * SHA256 `-` when it failed). Needs IGLU_PORT and TRIPLE in the environment.
 */
export const CANARY_SCRIPT = `set -u
d=$(mktemp -d) && cd "$d" || exit 90
mkdir -p "$d/state"
export DISTCC_DIR="$d/state" DISTCC_FALLBACK=0 DISTCC_SKIP_LOCAL_RETRY=1 DISTCC_BACKOFF_PERIOD=0
clang=/usr/bin/clang
for real in /usr/lib/llvm-*/bin/clang; do [ -x "$real" ] && clang=$real; done
printf '%s\\n' 'static const char msg[] = "iglu canary";' 'const char *iglu_canary_msg(void) { return msg; }' 'int iglu_canary(int x) { return x * 3 + 1; }' >canary.c
printf '%s\\n' 'template <typename T> T twice(T x) { return x + x; }' 'int iglu_canary(int x) { return twice(x) + 1; }' >canary.cc
one() {
	if [ "$1" = local ]; then "$3" --target="$TRIPLE" -O2 -c "$4" -o "$1-$2.o" 2>err
	else DISTCC_HOSTS="$1:$IGLU_PORT/1" distcc "$3" --target="$TRIPLE" -O2 -c "$4" -o "$1-$2.o" 2>err; fi
	code=$?
	sum=-
	[ "$code" = 0 ] && sum=$(sha256sum <"$1-$2.o" | cut -d' ' -f1)
	echo "canary $1 $2 $code $sum $(grep -v '^distcc\\[' err | tail -n 1 | tr -s ' \\t' '  ')"
}
for where in local "$@"; do one "$where" c "$clang" canary.c; one "$where" c++ "$clang++" canary.cc; done
cd / && rm -rf "$d"
`;

/** One line of the canary script's output. */
export interface CanaryCompile {
  /** "local" or a task's overlay address. */
  where: string;
  lang: 'c' | 'c++';
  exitCode: number;
  /** sha256 of the object, or undefined when the compile failed. */
  sha256?: string;
  /** The compile's last line on stderr (distcc's own lines left out). */
  message: string;
}

/** A task refused for builds, and why. */
export interface RefusedTask {
  host: FarmHost;
  reason: string;
}

/** Parses CANARY_SCRIPT's output. Lines that are not canary lines are ignored. Pure. */
export function parseCanaries(text: string): CanaryCompile[] {
  return [...text.matchAll(/^canary (\S+) (c|c\+\+) (\d+) (\S+) ?(.*)$/gm)].map((m) => ({
    where: m[1]!,
    lang: m[2] as 'c' | 'c++',
    exitCode: Number(m[3]),
    ...(m[4] !== '-' ? { sha256: m[4]! } : {}),
    message: m[5]!.trim(),
  }));
}

/**
 * Splits the farm's hosts into the ones whose compilers make the client's objects byte
 * for byte and the ones refused: a canary that failed through distcc, or an object that
 * differs from the client's (another clang build or version on that node — distcc(1)
 * does not check that servers have the same compiler). Pure.
 * @throws IgluError when the client's own canary compile failed (its clang is broken)
 */
export function judgeCompilers(hosts: FarmHost[], compiles: CanaryCompile[]): { accepted: FarmHost[]; refused: RefusedTask[] } {
  const local = new Map(compiles.filter((c) => c.where === 'local').map((c) => [c.lang, c]));
  for (const lang of ['c', 'c++'] as const) {
    const c = local.get(lang);
    if (!c?.sha256)
      throw new IgluError(
        `the build container's clang cannot compile the ${lang} canary${c ? `: exit ${c.exitCode}${c.message ? ` (${c.message})` : ''}` : ''}`,
        { hint: 'rebuild the farm image (iglu image build): its clang is broken' },
      );
  }
  const accepted: FarmHost[] = [];
  const refused: RefusedTask[] = [];
  for (const host of hosts) {
    const reasons: string[] = [];
    for (const lang of ['c', 'c++'] as const) {
      const mine = local.get(lang)!.sha256!;
      const theirs = compiles.find((c) => c.where === host.ip && c.lang === lang);
      const name = lang === 'c' ? 'clang' : 'clang++';
      if (!theirs) reasons.push(`no ${name} canary ran on it`);
      else if (!theirs.sha256) reasons.push(`its ${name} canary failed through distcc (exit ${theirs.exitCode}${theirs.message ? `: ${theirs.message}` : ''})`);
      else if (theirs.sha256 !== mine)
        reasons.push(`its ${name} made a different object than the client's (sha256 ${theirs.sha256.slice(0, 12)}… vs ${mine.slice(0, 12)}…)`);
    }
    if (reasons.length) refused.push({ host, reason: reasons.join('; ') });
    else accepted.push(host);
  }
  return { accepted, refused };
}

/**
 * Checks every task's compilers against the build container's before a farm build:
 * runs CANARY_SCRIPT in `containerId` (a container from the farm image on the overlay)
 * and judges the objects (judgeCompilers).
 * @returns the accepted hosts and the refused ones with reasons
 * @throws IgluError when the client's own compile fails, or when every task is refused
 *   (naming each node and why)
 */
export async function verifyFarmCompilers(
  engine: Engine,
  containerId: string,
  hosts: FarmHost[],
  o: { port: number; triple: string },
): Promise<{ accepted: FarmHost[]; refused: RefusedTask[] }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await engine.containers.exec(containerId, ['sh', '-c', CANARY_SCRIPT, 'iglu-canary', ...hosts.map((h) => h.ip)], {
    env: { IGLU_PORT: String(o.port), TRIPLE: o.triple },
    output: out,
  });
  const verdict = judgeCompilers(hosts, parseCanaries(Buffer.concat(chunks).toString('utf8')));
  if (hosts.length && !verdict.accepted.length) {
    throw new IgluError(
      `no task of the farm compiles as the client does: ${verdict.refused.map((r) => `${r.host.hostname} (${r.host.ip}): ${r.reason}`).join('; ')}`,
      {
        hint: 'give every node the same farm image: iglu farm up copies it; a node changed by hand needs its task restarted (iglu farm down && iglu farm up)',
      },
    );
  }
  return verdict;
}

/**
 * verifyFarmCompilers on the farm's running tasks, then the farm's status with only the
 * accepted ones (withHosts: DISTCC_HOSTS and slots recomputed) — what a farm build uses.
 * @param containerId a container from the farm image on the overlay (the build's own)
 * @param triple the target triple the canary compiles for (runnerEnv().TRIPLE)
 * @throws IgluError as verifyFarmCompilers
 */
export async function verifiedFarm(
  engine: Engine,
  containerId: string,
  farm: FarmConfig,
  status: FarmStatus,
  triple: string,
): Promise<{ status: FarmStatus; refused: RefusedTask[] }> {
  const verdict = await verifyFarmCompilers(engine, containerId, status.hosts, { port: farm.port, triple });
  return { status: withHosts(farm, status, verdict.accepted), refused: verdict.refused };
}

/** A refused task as `--json` reports it. */
export interface RefusedReport {
  node: string;
  ip: string;
  reason: string;
}

/** The refused tasks as `--json` reports them. Pure. */
export function refusedReports(refused: RefusedTask[] | undefined): RefusedReport[] {
  return (refused ?? []).map((r) => ({ node: r.host.hostname, ip: r.host.ip, reason: r.reason }));
}

/** "refused the task on NODE (IP) for this build: REASON" — the progress line for a refused task. Pure. */
export function refusedLine(r: RefusedTask): string {
  return `refused the task on ${r.host.hostname} (${r.host.ip}) for this build: ${r.reason}`;
}

/** "; refused n3, n4 (different compilers)", or "" — the end of a built package's progress line. Pure. */
export function refusedSuffix(refused: RefusedTask[] | undefined): string {
  return refused?.length ? `; refused ${refused.map((r) => r.host.hostname).join(', ')} (different compilers)` : '';
}

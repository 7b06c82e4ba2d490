import type { CompileCounts } from '../packages/manifest.js';

/**
 * Counts where compile jobs ran, from two logs of one build:
 * - `distccLog`, distcc's client log written with DISTCC_LOG (INFO and above; the debug
 *   lines DISTCC_VERBOSE=1 adds are ignored; distcc(1), "ENVIRONMENT VARIABLES"). Every
 *   distcc invocation ends with a line `compile FILE on HOST completed ok` (or `… failed`):
 *   HOST is `localhost` when the job ran on the client — a fallback after a failed remote
 *   try, or a job distcc does not distribute — and FILE is `(null)` for jobs that are not
 *   compiles of one source (linking, stdin, several sources), not counted from this log.
 *   HOST is the DISTCC_HOSTS entry: `IP/LIMIT,…`, or `@IP/LIMIT,…` through a socket.
 * - `wrapperLog`, the target compiler wrapper's own log (chroot/target-bin/cc,
 *   IGLU_COMPILE_LOG): one line `compile LAUNCHER` per command with -c or -S, whatever
 *   distcc makes of it. LAUNCHER `-` means the compile never reached distcc (bypassed).
 *
 * remote + local + bypassed is every compile the wrapper saw: what reached distcc without
 * a line of its own (FILE `(null)`) ran on the client and counts as local. A build that
 * has no wrapper log (an older runner) counts from distcc's log alone. Pure.
 * @param nodeOf maps a task's address to its node's hostname
 */
export function countCompiles(distccLog: string, wrapperLog = '', nodeOf: (ip: string) => string = (ip) => ip): CompileCounts {
  const remote: Record<string, number> = {};
  const byNode: Record<string, number> = {};
  let local = 0;
  const fellBackPids = new Set<string>();
  for (const m of distccLog.matchAll(/^distcc\[(\d+)\] Warning: failed to distribute .* running locally instead$/gm)) fellBackPids.add(m[1]!);
  for (const m of distccLog.matchAll(/^distcc\[(\d+)\] compile (\S+) on (\S+) (?:completed ok|failed)/gm)) {
    const [, , file, host] = m as unknown as [string, string, string, string];
    if (file === '(null)') continue;
    if (host === 'localhost') {
      local++;
      continue;
    }
    // `IP[:PORT]/LIMIT,…` over TCP, `@IP/LIMIT,…` through the sandbox's socket (farm/distcc-socket.ts)
    const ip = host
      .split('/')[0]!
      .replace(/:\d+$/, '')
      .replace(/^[^@]*@/, '');
    remote[ip] = (remote[ip] ?? 0) + 1;
    byNode[nodeOf(ip)] = (byNode[nodeOf(ip)] ?? 0) + 1;
  }
  let viaDistcc = 0;
  let bypassed = 0;
  for (const m of wrapperLog.matchAll(/^compile (\S+)$/gm)) {
    if (m[1] === '-') bypassed++;
    else viaDistcc++;
  }
  const seen = Object.values(remote).reduce((a, b) => a + b, 0) + local;
  return { remote, byNode, local: local + Math.max(0, viaDistcc - seen), fellBack: fellBackPids.size, bypassed };
}

/** No compile jobs. */
export const NO_COMPILES: CompileCounts = { remote: {}, byNode: {}, local: 0, fellBack: 0, bypassed: 0 };

/** Adds two counts (per host, per node, local). Pure. */
export function addCounts(a: CompileCounts, b: CompileCounts): CompileCounts {
  const sum = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, n] of Object.entries(y)) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  return {
    remote: sum(a.remote, b.remote),
    byNode: sum(a.byNode, b.byNode),
    local: a.local + b.local,
    fellBack: a.fellBack + b.fellBack,
    bypassed: (a.bypassed ?? 0) + (b.bypassed ?? 0),
  };
}

/** The share of all compiles (remote, local and bypassed) that ran on the farm, 0..1 (0 when there were none). */
export function remoteFraction(c: CompileCounts): number {
  const remote = Object.values(c.remote).reduce((a, b) => a + b, 0);
  const all = remote + c.local + (c.bypassed ?? 0);
  return all === 0 ? 0 : remote / all;
}

/** "12 on 10.214.1.2 (n2), 9 on 10.214.1.3 (n3), 3 local (1 fell back), 2 bypassed distcc" */
export function formatCounts(c: CompileCounts, nodeOf: (ip: string) => string | undefined = () => undefined): string {
  const parts = Object.entries(c.remote)
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([ip, n]) => `${n} on ${ip}${nodeOf(ip) ? ` (${nodeOf(ip)})` : ''}`);
  return [...parts, `${c.local} local${c.fellBack ? ` (${c.fellBack} fell back)` : ''}`, ...(c.bypassed ? [`${c.bypassed} bypassed distcc`] : [])].join(', ');
}

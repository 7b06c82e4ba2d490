import type { Engine } from '../../src/docker/index.js';

/** Where one compile ran, from distcc's verbose client log. */
export interface CompilePlacement {
  file: string;
  host: string;
}

/**
 * The client side of the farm, as a user runs it: a container from the farm image on the
 * overlay compiles `files` C files in parallel through distcc (DISTCC_FALLBACK=0: a
 * compile that cannot go remote fails instead of running locally) and prints distcc's
 * "compile X on HOST" lines.
 */
export async function compileThroughFarm(
  engine: Engine,
  opts: { imageId: string; network: string; distccHosts: string; files: number; labels: Record<string, string> },
): Promise<{ exitCode: number; placements: CompilePlacement[]; output: string }> {
  const script = `
set -e; mkdir -p /w && cd /w
for i in $(seq 1 ${opts.files}); do
  { echo '#include <stdio.h>'; for j in $(seq 1 40); do echo "double f\${i}_$j(double x){for(int k=0;k<$j;k++)x=x*1.0001+k;return x;}"; done; } > f$i.c
done
export DISTCC_VERBOSE=1 DISTCC_LOG=/w/distcc.log DISTCC_FALLBACK=0
for f in f*.c; do distcc clang -O2 -c "$f" -o "\${f%.c}.o" & done
rc=0; for j in $(jobs -p); do wait $j || rc=1; done
ls *.o | wc -l | sed 's/^/objects: /'
grep -oE 'compile [^ ]+ on [^ ]+' /w/distcc.log || true
exit $rc`;
  const res = await engine.containers.runOnce({
    image: opts.imageId,
    cmd: ['/bin/bash', '-c', script],
    env: { DISTCC_HOSTS: opts.distccHosts },
    labels: opts.labels,
    network: opts.network,
    name: 'iglu-test-client',
    timeoutMs: 180_000,
  });
  const placements = [...res.output.matchAll(/compile (\S+) on (\S+)/g)].map((m) => ({ file: m[1]!, host: m[2]!.split('/')[0]!.split(':')[0]! }));
  return { exitCode: res.exitCode, placements, output: res.output };
}

import type { Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { LABEL, labelsFor } from '../labels.js';
import type { FarmHost } from './hosts.js';
import { serviceName } from './settings.js';

/**
 * The probe script: for each host at once, compile an empty C file through distcc with
 * DISTCC_FALLBACK=0 (distcc(1): fail instead of compiling locally), retrying until it
 * succeeds or the deadline passes. Prints "ok HOST" or "fail HOST LAST-ERROR" per host;
 * exits 1 when a host failed.
 */
const PROBE = `
cd /tmp && echo 'int iglu_probe(void){return 0;}' > probe.c
end=$(( $(date +%s) + IGLU_DEADLINE ))
probe() {
  until DISTCC_HOSTS="$1" DISTCC_FALLBACK=0 DISTCC_BACKOFF_PERIOD=0 distcc clang -c probe.c -o "probe-$2.o" 2>"err-$2"; do
    if [ "$(date +%s)" -ge "$end" ]; then echo "fail $1 $(tail -n1 "err-$2")"; return 1; fi
    sleep 0.2
  done
  echo "ok $1"
}
i=0; pids=
for h in $IGLU_HOSTS; do i=$((i+1)); probe "$h" "$i" & pids="$pids $!"; done
rc=0; for p in $pids; do wait "$p" || rc=1; done
exit $rc`;

/**
 * Proves every farm host accepts distcc connections and compiles: a labelled container
 * from the farm image on the overlay network compiles through every host at once.
 * The container is removed afterwards, also on failure; probe containers of the same
 * farm that a killed iglu left are removed first.
 * @param deadlineS seconds the probe may keep retrying a host
 * @param signal ends the probe early (Ctrl-C): its container is removed before the call
 *   rejects, so a rollback that follows can remove the network
 * @throws IgluError naming the hosts that never answered; "interrupted" when `signal` aborts
 */
export async function probeHosts(
  engine: Engine,
  opts: { farm: string; imageId: string; network: string; hosts: FarmHost[]; port: number; deadlineS: number; signal?: AbortSignal },
): Promise<void> {
  if (opts.hosts.length === 0) return;
  // a probe container a killed `farm up` left would also hold the name
  for (const old of await engine.containers.list({ [LABEL.role]: 'probe', [LABEL.farm]: opts.farm })) await engine.containers.remove(old.id);
  const hostSpecs = opts.hosts.map((h) => (opts.port === 3632 ? h.ip : `${h.ip}:${opts.port}`));
  const res = await engine.containers.runOnce({
    image: opts.imageId,
    cmd: ['/bin/sh', '-c', PROBE],
    env: { IGLU_HOSTS: hostSpecs.join(' '), IGLU_DEADLINE: String(Math.ceil(opts.deadlineS)) },
    labels: labelsFor('probe', opts.farm),
    network: opts.network,
    name: `${opts.farm}-probe`,
    timeoutMs: (opts.deadlineS + 30) * 1000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (res.exitCode !== 0) {
    const failed = res.output
      .split('\n')
      .filter((l) => l.startsWith('fail'))
      .map((l) => l.trim());
    throw new IgluError(`distccd did not accept compiles from the overlay: ${failed.join('; ') || res.output.trim().slice(-300)}`, {
      hint: `see the service log: docker service logs ${serviceName({ name: opts.farm })}`,
    });
  }
}

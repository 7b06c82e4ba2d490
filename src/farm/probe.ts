import { Writable } from 'node:stream';
import type { Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { abortable } from '../util/abort.js';
import { LABEL, labelsFor } from '../labels.js';
import type { FarmHost } from './hosts.js';
import { serviceName } from './settings.js';

/**
 * The probe script: for each host at once, compile an empty C file through distcc with
 * DISTCC_FALLBACK=0 (distcc(1): fail instead of compiling locally), retrying until it
 * succeeds or the deadline passes. An attempt that stalls on a host that accepted the
 * connection ends after DISTCC_IO_TIMEOUT = 20 s (distcc(1); its default is 300), so the
 * whole probe ends within about 20 s of the deadline. Prints "ok HOST" or "fail HOST
 * LAST-ERROR" per host; exits 1 when a host failed.
 */
const PROBE = `
cd /tmp && echo 'int iglu_probe(void){return 0;}' > probe.c
end=$(( $(date +%s) + IGLU_DEADLINE ))
probe() {
  until DISTCC_HOSTS="$1" DISTCC_FALLBACK=0 DISTCC_BACKOFF_PERIOD=0 DISTCC_IO_TIMEOUT=20 distcc clang -c probe.c -o "probe-$2.o" 2>"err-$2"; do
    if [ "$(date +%s)" -ge "$end" ]; then echo "fail $1 $(tail -n1 "err-$2")"; return 1; fi
    sleep 0.2
  done
  echo "ok $1"
}
i=0; pids=
for h in $IGLU_HOSTS; do i=$((i+1)); probe "$h" "$i" & pids="$pids $!"; done
rc=0; for p in $pids; do wait "$p" || rc=1; done
exit $rc`;

/** Where the probe container runs: the farm, its image and overlay network. */
export interface ProbeSite {
  farm: string;
  imageId: string;
  network: string;
  /** Ends the probe early (Ctrl-C): `run` rejects with "interrupted"; dispose still removes the container. */
  signal?: AbortSignal;
}

/**
 * Proves every farm host accepts distcc connections and compiles, from a labelled
 * container of the farm image on the overlay network. The container starts as soon as
 * `start` is called — while the service's tasks are still being scheduled, so its start
 * (about 0.4 s on an overlay) is not on farm up's path — and the probe script runs in it
 * (`exec`) once the hosts are known. Dispose it (`await using`) to remove the container,
 * also after a failure or an interruption; probe containers of the same farm that a
 * killed iglu left are removed first.
 */
export class FarmProbe implements AsyncDisposable {
  private constructor(
    private readonly engine: Engine,
    private readonly site: ProbeSite,
    private readonly container: Promise<string>,
  ) {
    // a failed start is reported by `run`; until then it must not count as unhandled
    container.catch(() => undefined);
  }

  /** Starts the probe container (not awaited: `run` waits for it). */
  static start(engine: Engine, site: ProbeSite): FarmProbe {
    const container = (async () => {
      for (const old of await engine.containers.list({ [LABEL.role]: 'probe', [LABEL.farm]: site.farm })) await engine.containers.remove(old.id);
      return engine.containers.start({ image: site.imageId, labels: labelsFor('probe', site.farm), network: site.network, name: `${site.farm}-probe` });
    })();
    return new FarmProbe(engine, site, container);
  }

  /**
   * Compiles an empty C file through every host at once, each retried until `deadlineS`.
   * @throws IgluError naming the hosts that never answered; "interrupted" when the site's signal aborts;
   *   the Engine's error when the container could not start
   */
  async run(hosts: FarmHost[], port: number, deadlineS: number): Promise<void> {
    if (hosts.length === 0) return;
    const id = await abortable(this.container, this.site.signal, 'the farm probe');
    const hostSpecs = hosts.map((h) => (port === 3632 ? h.ip : `${h.ip}:${port}`));
    let output = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => void ((output += chunk.toString('utf8')), done()) });
    const env = { IGLU_HOSTS: hostSpecs.join(' '), IGLU_DEADLINE: String(Math.ceil(deadlineS)) };
    const exitCode = await abortable(this.engine.containers.exec(id, ['/bin/sh', '-c', PROBE], { env, output: sink }), this.site.signal, 'the farm probe');
    if (exitCode !== 0) {
      const failed = output
        .split('\n')
        .filter((l) => l.startsWith('fail'))
        .map((l) => l.trim());
      throw new IgluError(`distccd did not accept compiles from the overlay: ${failed.join('; ') || output.trim().slice(-300)}`, {
        hint: `see the service log: docker service logs ${serviceName({ name: this.site.farm })}`,
      });
    }
  }

  /** Removes the container (the probe's exec, if still running, ends with it). */
  async [Symbol.asyncDispose](): Promise<void> {
    const id = await this.container.catch(() => undefined);
    if (id) await this.engine.containers.remove(id);
  }
}

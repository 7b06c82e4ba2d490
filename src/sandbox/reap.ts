/**
 * A POSIX sh script that ends every process of a long-running iglu container but its own
 * two — PID 1 (docker-init, `Init: true`) and the `sleep infinity` it started, which is
 * the oldest child of PID 1 (processes started by `docker exec` have their parent outside
 * the container's PID namespace, pid 0; a recipe's orphans are adopted by PID 1 later) —
 * so nothing a recipe started (a daemon, a `nohup … &` loop) outlives its package and
 * reaches the next one. SIGKILL in rounds until a round finds none alive (a process forking
 * while it runs is caught by the next; zombies, already dead, are PID 1's to reap), at
 * most 40 rounds 50 ms apart; exit 1 when some remain. Fields of /proc/<pid>/stat after
 * the command's closing parenthesis: state, ppid, … starttime (proc(5): fields 3, 4, 22).
 * Run it with `docker exec` after each package's run and before its outputs are read. Pure.
 */
export const REAP_SCRIPT = [
  'me=$$ main= oldest=',
  'for d in /proc/[0-9]*; do',
  '  { read -r line < "$d/stat"; } 2>/dev/null || continue',
  '  set -- ${line##*) }',
  '  [ "$2" = 1 ] || continue',
  '  if [ -z "$main" ] || [ "${20}" -lt "$oldest" ]; then main=${d#/proc/} oldest=${20}; fi',
  'done',
  'round=0',
  'while [ $round -lt 40 ]; do',
  '  left=0',
  '  for d in /proc/[0-9]*; do',
  '    p=${d#/proc/}',
  '    case $p in 1|"$main"|"$me") continue ;; esac',
  '    { read -r line < "$d/stat"; } 2>/dev/null || continue',
  '    set -- ${line##*) }',
  '    [ "$1" = Z ] && continue',
  '    kill -KILL "$p" 2>/dev/null && left=1',
  '  done',
  '  [ $left = 0 ] && exit 0',
  '  round=$((round + 1))',
  '  sleep 0.05',
  'done',
  'exit 1',
].join('\n');

/**
 * Runs `run` (a command in a container, which the signal cannot reach) so that an abort
 * of `signal` (Ctrl-C, the wall-time limit) calls `reap` — REAP_SCRIPT in that container —
 * which ends the command by killing its processes.
 * @returns the command's exit code, 128+9 when the signal ended it
 */
export async function reapedOnAbort(signal: AbortSignal | undefined, reap: () => Promise<unknown>, run: () => Promise<number>): Promise<number> {
  const onAbort = () => void reap().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const code = await run();
    return signal?.aborted ? 128 + 9 : code;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

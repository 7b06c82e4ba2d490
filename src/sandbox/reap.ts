/**
 * A POSIX sh script that ends every process of a long-running iglu container but its own
 * two — PID 1 (docker-init, `Init: true`) and PID 2 (the `sleep infinity` it started
 * first: pids of a new PID namespace are handed out in order, pid_namespaces(7)) — so
 * nothing a recipe started (a daemon, a `nohup … &` loop) outlives its package and reaches
 * the next one. SIGKILL in rounds until a round finds none (a process forking while it
 * runs is caught by the next), at most 40 rounds 50 ms apart; exit 1 when some remain.
 * Run it with `docker exec` after each package's run and before its outputs are read. Pure.
 */
export const REAP_SCRIPT = [
  'me=$$',
  'round=0',
  'while [ $round -lt 40 ]; do',
  '  left=0',
  '  for d in /proc/[0-9]*; do',
  '    p=${d#/proc/}',
  '    case $p in 1|2|"$me") continue ;; esac',
  '    kill -KILL "$p" 2>/dev/null && left=1',
  '  done',
  '  [ $left = 0 ] && exit 0',
  '  round=$((round + 1))',
  '  sleep 0.05',
  'done',
  'exit 1',
].join('\n');

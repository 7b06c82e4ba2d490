/** How a boot ended, read from the serial console and qemu's exit. */
export type BootStatus = 'booted' | 'check-failed' | 'panic' | 'timeout' | 'qemu-died' | 'no-marker';

/** What happened to the qemu process. */
export interface QemuEnd {
  /** Exit code, when it exited by itself. */
  code?: number;
  /** iglu stopped it after the timeout. */
  timedOut: boolean;
}

/** The verdict on one boot. */
export interface BootOutcome {
  status: BootStatus;
  /** The console line holding the expected text (status "booted"). */
  line?: string;
  /** The kernel's panic line (status "panic"). */
  panic?: string;
  /** The guest's failure line (status "check-failed"), e.g. "IGLUNIX BOOT FAILED: smoke test: zstd". */
  failure?: string;
}

/** Serial console text: CRLF line ends, ANSI escapes and other control bytes dropped. Pure. */
export function cleanConsole(raw: string): string {
  return raw
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\x1b[()][A-Z0-9]/g, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

/** The first console line that contains `expect`, if any. Pure. */
export function findExpected(console: string, expect: string): string | undefined {
  return cleanConsole(console)
    .split('\n')
    .find((l) => l.includes(expect))
    ?.trim();
}

/**
 * Judges a boot (pure): "booted" when the expected line appeared and qemu then exited 0
 * by itself (the guest powered off — qemu's -no-reboot turns a reboot into an exit too);
 * "check-failed" when the guest printed its failure line (`fail`: the init's smoke test
 * named the checks that failed); "panic" when the kernel printed "Kernel panic";
 * "timeout" when iglu had to stop qemu; "qemu-died" when qemu exited non-zero;
 * "no-marker" when qemu exited cleanly without the line. A panic wins over everything but
 * a clean boot.
 */
export function bootOutcome(console: string, expect: string, end: QemuEnd, fail?: string): BootOutcome {
  const text = cleanConsole(console);
  const line = findExpected(text, expect);
  const panic = text
    .split('\n')
    .find((l) => /Kernel panic/.test(l))
    ?.trim();
  const failure = fail ? findExpected(text, fail) : undefined;
  if (line && !failure && !panic && !end.timedOut && end.code === 0) return { status: 'booted', line };
  if (panic) return { status: 'panic', panic };
  if (failure) return { status: 'check-failed', failure };
  if (end.timedOut) return { status: 'timeout', ...(line ? { line } : {}) };
  if (end.code !== 0) return { status: 'qemu-died' };
  return { status: 'no-marker' };
}

/** The last `n` lines of console text, cleaned, for error messages. Pure. */
export function consoleTail(console: string, n = 20): string {
  const lines = cleanConsole(console).split('\n');
  while (lines.length && lines.at(-1) === '') lines.pop();
  return lines.slice(-n).join('\n');
}

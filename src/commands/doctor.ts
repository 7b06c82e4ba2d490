import type { Command } from 'commander';
import { makeContext, type GlobalOptions } from './context.js';
import { healthy, runChecks, type Check } from '../doctor/checks.js';
import { IgluError } from '../errors.js';
import { printResult } from '../output.js';

/** `iglu doctor`: what this host and engine have, and what to do about what is missing. */
export function registerDoctor(program: Command, globals: () => GlobalOptions): void {
  program
    .command('doctor')
    .description('check the Docker Engine, swarm, kernel features, /dev/kvm and host tools; exit 1 when something required is missing')
    .addHelpText('after', "\nExamples:\n  iglu doctor\n  iglu doctor --json | jq '.checks[] | select(.ok | not)'\n")
    .action(async () => {
      const ctx = await makeContext(globals());
      const checks = await runChecks(ctx.endpoint);
      const ok = healthy(checks);
      printResult(ctx.json, { ok, checks }, () => checks.map(format).join('\n'));
      if (!ok) throw new IgluError('something required is missing (lines marked ✖)', { hint: 'do what those lines say, then run iglu doctor again' });
    });
}

function format(c: Check): string {
  const mark = c.ok ? '✔' : c.required ? '✖' : '!';
  return `${mark} ${c.name}: ${c.detail}${!c.ok && c.fix ? ` — ${c.fix}` : ''}`;
}

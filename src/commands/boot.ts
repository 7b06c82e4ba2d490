import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { bootImage } from '../boot/run.js';
import { makeContext, type GlobalOptions } from './context.js';
import { terminal } from './interruption.js';
import { printResult } from '../output.js';

/** `iglu boot`: boots iglunix.img under QEMU and tells whether it came up. */
export function registerBoot(program: Command, globals: () => GlobalOptions): void {
  program
    .command('boot')
    .description(
      'boot iglunix.img under QEMU (serial console shown live and kept in logs/boot.log); succeeds when init prints the expected line and the guest powers off',
    )
    .option('--image <file>', 'the image (default: <workdir>/iglunix.img)')
    .option('--timeout <s>', 'seconds before the boot counts as failed (default: boot.timeout, 120)', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new InvalidArgumentError('must be a positive number of seconds');
      return n;
    })
    .option('--expect <text>', 'the line that proves the boot (default: boot.expect)')
    .addOption(
      new Option('--firmware <kind>', 'efi: OVMF boots \\EFI\\BOOT\\BOOTX64.EFI; direct: QEMU loads the kernel itself')
        .choices(['efi', 'direct'])
        .default('efi'),
    )
    .option('--interactive', "give this terminal the guest's console with a shell; ends when the guest powers off (Ctrl-A X quits qemu)")
    .addHelpText('after', '\nExamples:\n  iglu boot\n  iglu boot --firmware direct --timeout 60 --json\n  iglu boot --interactive\n')
    .action(async (flags: { image?: string; timeout?: number; expect?: string; firmware: 'efi' | 'direct'; interactive?: boolean }) => {
      const ctx = await makeContext(globals());
      terminal.handsOff = Boolean(flags.interactive);
      const result = await bootImage({
        workdir: ctx.workdir,
        config: ctx.config,
        image: path.resolve(flags.image ?? ctx.workdir.imageFile),
        firmware: flags.firmware,
        timeoutS: flags.timeout ?? ctx.config.boot.timeout,
        expect: flags.expect ?? ctx.config.boot.expect,
        fail: ctx.config.boot.fail,
        interactive: Boolean(flags.interactive),
        live: (s) => process.stderr.write(s),
        signal: ctx.signal,
      });
      printResult(ctx.json, result, () =>
        flags.interactive
          ? `the guest powered off after ${result.seconds.toFixed(1)} s (${result.firmware} boot under ${result.accel})`
          : `${result.status}: ${result.line ?? ''}\n${result.firmware} boot under ${result.accel} (${result.accelReason}); line after ${result.secondsToLine} s, powered off after ${result.seconds} s`,
      );
    });
}

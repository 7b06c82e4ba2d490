import { InvalidArgumentError, type Command } from 'commander';
import { assembleImage, type ImageResult } from '../disk/assemble.js';
import { makeContext, type GlobalOptions } from './context.js';
import { buildFarmImage, importFarmTar, type FarmImage } from '../image/build.js';
import { imageConfigOf } from '../image/inputs.js';
import { printResult } from '../output.js';
import { runSteps } from './progress.js';

/**
 * `iglu image [--out FILE] [--size MiB]`: iglunix.img from the built packages;
 * `iglu image build`: the farm ("abyss") image, from debootstrap or a rootfs tarball.
 */
export function registerImage(program: Command, globals: () => GlobalOptions): void {
  const image = program
    .command('image')
    .description('assemble iglunix.img (GPT: ESP with the EFI-stub kernel, ext4 root) from the built packages; "image build" makes the farm image')
    .option('--out <file>', 'where to write the image (default: <workdir>/iglunix.img)')
    .option('--size <MiB>', 'image size in MiB (default: disk.sizeMiB, 64)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 42) throw new InvalidArgumentError('must be a whole number of MiB, at least 42');
      return n;
    })
    .addHelpText(
      'after',
      '\nExamples:\n  iglu image\n  iglu image --out /tmp/iglunix.img --size 128 --json\n  iglu image build          # the farm image instead\n',
    )
    .action((opts: { out?: string; size?: number }) => assembleCommand(globals, opts));
  registerImageBuild(image, globals);
}

function registerImageBuild(image: Command, globals: () => GlobalOptions): void {
  image
    .command('build')
    .description('build the farm image with debootstrap (or import a rootfs tarball), tagged iglu/abyss:<content hash>')
    .option('--from-tar <file>', 'import this root filesystem tarball instead of running debootstrap')
    .addHelpText('after', '\nExamples:\n  iglu image build\n  iglu image build --from-tar rootfs.tar --json\n')
    .action(async (opts: { fromTar?: string }) => {
      const ctx = await makeContext(globals());
      const engine = await ctx.engine();
      const state = await runSteps<{ image?: FarmImage }>(
        [
          {
            title: opts.fromTar ? `import ${opts.fromTar}` : 'build the farm image',
            run: async (c, output) => {
              c.image = opts.fromTar
                ? await importFarmTar(engine, opts.fromTar, output)
                : await buildFarmImage(engine, ctx.workdir, imageConfigOf(ctx.config), output, ctx.signal);
              return `${c.image.ref}${c.image.reused ? ' (reused)' : ''}`;
            },
          },
        ],
        {},
      );
      const img = state.image!;
      printResult(ctx.json, img, () => `${img.ref} ${img.id}${img.reused ? ' (already built)' : ''}`);
    });
}

/** `iglu image`: assembles iglunix.img with one progress step and prints where it is. */
async function assembleCommand(globals: () => GlobalOptions, opts: { out?: string; size?: number }): Promise<void> {
  const ctx = await makeContext(globals());
  const state = await runSteps<{ result?: ImageResult }>(
    [
      {
        title: 'assemble iglunix.img',
        run: async (c, output) => {
          c.result = await assembleImage(
            { workdir: ctx.workdir, config: ctx.config, out: opts.out, sizeMiB: opts.size, expect: ctx.config.boot.expect, signal: ctx.signal },
            output,
          );
          return `${c.result.file} (${c.result.sizeMiB} MiB) in ${c.result.seconds} s`;
        },
      },
    ],
    {},
  );
  const r = state.result!;
  printResult(
    ctx.json,
    r,
    () => `${r.file}\nsha256 ${r.sha256}\nkernel ${r.kernel.name} ${r.kernel.version}; root: ${r.packages.map((p) => `${p.name} ${p.version}`).join(', ')}`,
  );
}

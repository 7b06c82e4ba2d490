import type { Command } from 'commander';
import { makeContext, type GlobalOptions } from '../context.js';
import { buildFarmImage, importFarmTar, type FarmImage } from '../image/build.js';
import { printResult } from '../output.js';
import { runSteps } from '../progress.js';

/** `iglu image build`: the farm ("abyss") image, from debootstrap or a rootfs tarball. */
export function registerImage(program: Command, globals: () => GlobalOptions): void {
  const image = program.command('image').description('the farm ("abyss") image');
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
                : await buildFarmImage(engine, ctx.workdir, ctx.config.image, output);
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

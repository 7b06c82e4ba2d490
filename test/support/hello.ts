import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { Engine } from '../../src/docker/index.js';
import { labelsFor } from '../../src/labels.js';

/**
 * Unpacks a musl package tarball into a sysroot and links a static hello world against
 * its crt files and libc.a with the farm image's clang and lld (the host has no musl
 * toolchain), then runs the binary on the host.
 * @returns `file`'s description of the binary and what it printed
 */
export async function linkStaticHello(engine: Engine, imageId: string, tarball: string): Promise<{ file: string; output: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'iglu-hello-'));
  await execa('sh', ['-c', `mkdir -p ${dir}/s && zstd -dc ${tarball} | tar -x -C ${dir}/s`]);
  writeFileSync(path.join(dir, 'hello.c'), '#include <stdio.h>\nint main(void) { puts("hello from musl"); return 0; }\n');
  const run = await engine.containers.runOnce({
    image: imageId,
    cmd: [
      'sh',
      '-c',
      'cd /w && clang -static -nostdinc -nostdlib -isystem s/usr/include s/usr/lib/crt1.o s/usr/lib/crti.o hello.c s/usr/lib/libc.a s/usr/lib/crtn.o -fuse-ld=lld -o hello && file hello',
    ],
    labels: labelsFor('test'),
    binds: [`${dir}:/w`],
    timeoutMs: 60_000,
  });
  if (run.exitCode !== 0) throw new Error(`linking hello failed:\n${run.output}`);
  const out = await execa(path.join(dir, 'hello'));
  return { file: run.output.trim(), output: out.stdout.trim() };
}

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { ConfigSchema } from '../../src/config/schema.js';
import { assembleImage } from '../../src/disk/assemble.js';
import { Workdir } from '../../src/layout/workdir.js';
import { canary } from '../support/hostile.js';
import { packSynthetic } from '../support/packages.js';

// Hostile packages through `iglu image`: file names, links and programs a package ships
// must never act on the host. Real tools (mke2fs, debugfs, mtools), synthetic packages.

type Entry = string | { link: string };

async function pkg(wd: Workdir, name: string, files: Record<string, Entry>): Promise<void> {
  const pkgdir = mkdtempSync(path.join(tmpdir(), `iglu-hpkg-${name}-`));
  for (const [p, e] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(pkgdir, p)), { recursive: true });
    if (typeof e === 'string') writeFileSync(path.join(pkgdir, p), e, { mode: 0o755 });
    else symlinkSync(e.link, path.join(pkgdir, p));
  }
  await packSynthetic(wd, name, pkgdir);
}

async function workdir(over: Record<string, Record<string, Entry>>): Promise<Workdir> {
  const wd = new Workdir(mkdtempSync(path.join(tmpdir(), 'iglu-hdisk-')));
  await wd.dir('out');
  const base: Record<string, Record<string, Entry>> = {
    linux: { 'boot/vmlinuz': 'MZ not really a kernel\n' },
    musl: { 'lib/ld-musl-x86_64.so.1': 'musl\n' },
    busybox: { 'bin/busybox': '#!/bin/sh\n' },
    mksh: { 'bin/mksh': '#!/bin/sh\n' },
  };
  for (const [name, files] of Object.entries({ ...base, ...over })) await pkg(wd, name, files);
  return wd;
}

const config = ConfigSchema.parse({ disk: { packages: ['musl', 'busybox', 'mksh'] } });
const image = (wd: Workdir) => assembleImage({ workdir: wd, config, expect: 'IGLUNIX BOOT OK' }, () => undefined);

test('file names are never read as debugfs commands (newlines, quotes, lcd chains)', async () => {
  const c = canary('debugfs');
  const wd = await workdir({
    mksh: {
      'bin/mksh': '#!/bin/sh\n',
      [`x"\ndump /bin/mksh ${c.made}\n#`]: 'a\n',
      [`y\nlcd ..\nlcd ..\nrdump /bin ${c.dir}\n#`]: 'b\n',
    },
  });
  const img = await image(wd);
  assert.ok(existsSync(img.file));
  assert.ok(c.intact(), 'no host file was written');
  assert.deepEqual(readdirSync(c.dir).sort(), ['keep']);
  // the names are data: both files went into the root filesystem (debugfs reads it from the image at the root partition's offset)
  const ls = await execa('debugfs', ['-R', 'ls -p /', `${img.file}?offset=${img.layout.root.start * 512}`], { reject: false });
  assert.equal((String(ls.stdout).match(/^dump \/\/$/gm) ?? []).length, 1, String(ls.stdout));
  assert.equal((String(ls.stdout).match(/^rdump \/\/$/gm) ?? []).length, 1);
});

test("a package's bin/busybox never runs on the host", async () => {
  const c = canary('busybox');
  const wd = await workdir({ busybox: { 'bin/busybox': `#!/bin/sh\ntouch ${c.made}\necho bin/ls\n`, 'bin/sh': { link: '/bin/busybox' } } });
  await image(wd);
  assert.ok(c.intact(), 'the "busybox" script did not run on the host');
});

test('a kernel whose boot/vmlinuz links to a host file is refused; the host file keeps its mtime', async () => {
  const c = canary('vmlinuz');
  const wd = await workdir({ linux: { 'boot/vmlinuz': { link: c.keep } } });
  await assert.rejects(image(wd), /boot\/vmlinuz in .* is a symbolic link/);
  assert.ok(c.intact(), 'the linked file was neither copied nor touched');
  assert.deepEqual(
    readdirSync(path.join(wd.root, 'disk')).filter((n) => n.startsWith('build.')),
    [],
    'scratch removed',
  );
  assert.ok(!readdirSync(wd.root).some((n) => n.endsWith('.tmp')), 'no temporary image left');
});

test('links a package puts at sbin/ or tmp/ are never followed (no init written, no chmod on the host)', async () => {
  for (const at of ['sbin', 'tmp']) {
    const c = canary(at);
    const wd = await workdir({ mksh: { 'bin/mksh': '#!/bin/sh\n', [at]: { link: c.dir } } });
    await assert.rejects(image(wd), new RegExp(`${at} in .* is a symbolic link`));
    assert.ok(c.intact());
    assert.deepEqual(readdirSync(c.dir), ['keep'], `nothing written through ${at}`);
    assert.equal((await execa('stat', ['-c', '%a', c.dir])).stdout, '700', 'mode unchanged');
  }
});

test('a killed `iglu image` leaves nothing for good: its scratch directory and temporary image are swept', async () => {
  const wd = await workdir({});
  const dead = (await execa('sh', ['-c', 'echo $$'])).stdout.trim();
  mkdirSync(path.join(wd.root, 'disk', `build.${dead}`, 'root'), { recursive: true });
  writeFileSync(path.join(wd.root, `iglunix.img.${dead}.tmp`), 'half an image');
  await image(wd);
  assert.ok(!existsSync(path.join(wd.root, 'disk', `build.${dead}`)));
  assert.ok(!existsSync(path.join(wd.root, `iglunix.img.${dead}.tmp`)));
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { iglu } from '../support/cli.js';

test('reading a recipe (as root) runs its top level without network: only a loopback', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const tree = mkdtempSync(path.join(tmpdir(), 'iglu-sandbox-'));
  const out = path.join(tree, 'interfaces');
  mkdirSync(path.join(tree, 'cat/probe'), { recursive: true });
  // /proc/net/dev: two header lines, then one line per interface this process sees
  writeFileSync(path.join(tree, 'cat/probe/build.sh'), `pkgname=probe\npkgver=1\nsed 1,2d /proc/net/dev | cut -d: -f1 | tr -d ' ' > ${out}\nfetch() { :; }\nbuild() { :; }\npackage() { :; }\n`);
  const r = await iglu(['chroot', 'plan', '--tree', tree, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8').trim(), 'lo');
});

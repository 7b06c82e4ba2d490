import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { refusedAddress, refusedUrl, DEFAULT_DOWNLOAD_POLICY } from '../../src/sources/address-rules.js';
import { download } from '../../src/sources/download.js';

// The source broker's downloads (issue 21: fetch() reached the host's loopback through the
// broker). A real HTTP server on loopback plays the internal service a recipe must not reach.
let server: http.Server;
let port = 0;
let hits = 0;
before(async () => {
  server = http.createServer((req, res) => {
    hits++;
    if (req.url === '/secret') return void res.end('SECRET\n');
    if (req.url === '/to-loopback') return void res.writeHead(302, { location: `http://127.0.0.1:${port}/secret` }).end();
    if (req.url === '/to-file') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    if (req.url === '/big') return void res.end(Buffer.alloc(4096, 'x'));
    if (req.url === '/big-chunked') {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 8; i++) res.write(Buffer.alloc(1024, 'y'));
      return void res.end();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

const file = () => path.join(mkdtempSync(path.join(tmpdir(), 'iglu-dl-')), 'got');

test('addresses: every non-public range is refused, in every spelling; public unicast passes', () => {
  for (const a of [
    '127.0.0.1',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    'fe80::1',
    'fd12::1',
    '0.0.0.0',
    '::',
    '100.64.0.1',
    '224.0.0.1',
    '64:ff9b::7f00:1',
    '2002:7f00:1::1',
  ]) {
    assert.ok(refusedAddress(a), a);
  }
  for (const a of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946']) assert.equal(refusedAddress(a), undefined, a);
  assert.match(refusedAddress('::ffff:127.0.0.1')!, /127\.0\.0\.1 is a loopback address/);
  for (const u of ['http://2130706433/x', 'http://0x7f.1/x', 'http://[::ffff:127.0.0.1]:18999/x', 'http://127.1/x', 'http://[::1]/x'])
    assert.match(refusedUrl(DEFAULT_DOWNLOAD_POLICY, u)!, /loopback/, u);
  assert.match(refusedUrl(DEFAULT_DOWNLOAD_POLICY, 'ftp://example.org/x')!, /scheme ftp is not downloaded/);
  assert.match(refusedUrl(DEFAULT_DOWNLOAD_POLICY, 'file:///etc/passwd')!, /scheme file/);
  assert.match(refusedUrl(DEFAULT_DOWNLOAD_POLICY, 'http://u:p@example.org/x')!, /credentials/);
});

test('a loopback address, written as an address or as a name that resolves to it, is never connected to', async () => {
  hits = 0;
  for (const url of [
    `http://127.0.0.1:${port}/secret`,
    `http://[::ffff:127.0.0.1]:${port}/secret`,
    `http://2130706433:${port}/secret`,
    `http://localhost:${port}/secret`,
  ]) {
    const to = file();
    await assert.rejects(download(url, to), (err: Error & { hint?: string }) => {
      assert.match(err.message, /^refused to download .*: .*loopback address/, url);
      assert.match(err.hint ?? '', /sources\.allowHosts/);
      return true;
    });
    assert.ok(!existsSync(to));
  }
  assert.equal(hits, 0, 'the server was never reached');
});

test('a host allowed by name is downloaded; a redirect to a host not allowed, or to another scheme, is refused', async () => {
  const allowLocal = { allowHosts: ['localhost'], maxBytes: 1 << 20 };
  const to = file();
  await download(`http://localhost:${port}/secret`, to, allowLocal);
  assert.equal(readFileSync(to, 'utf8'), 'SECRET\n');
  hits = 0;
  await assert.rejects(
    download(`http://localhost:${port}/to-loopback`, file(), allowLocal),
    /refused to download .*redirected to http:\/\/127\.0\.0\.1:\d+\/secret: 127\.0\.0\.1 is a loopback address/,
  );
  assert.equal(hits, 1, 'only the redirect itself was asked');
  await assert.rejects(
    download(`http://localhost:${port}/to-file`, file(), allowLocal),
    /redirected to file:\/\/\/etc\/passwd: the scheme file is not downloaded/,
  );
});

test('a body over the size limit is refused, by its Content-Length or by what arrives', async () => {
  const small = { allowHosts: ['127.0.0.1'], maxBytes: 2048 };
  await assert.rejects(download(`http://127.0.0.1:${port}/big`, file(), small), /the body is 4096 bytes, over 2048/);
  await assert.rejects(download(`http://127.0.0.1:${port}/big-chunked`, file(), small), /the body is over 2048 bytes/);
  const to = file();
  await download(`http://127.0.0.1:${port}/big`, to, { allowHosts: ['127.0.0.1'], maxBytes: 4096 });
  assert.equal(readFileSync(to).length, 4096);
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { execa } from 'execa';
import { parseConfig } from '../../src/config/load.js';
import { forwarderCmd, forwarderConnections } from '../../src/farm/distcc-socket.js';
import { CHROOT_SCRIPTS } from '../../src/layout/in-root.js';
import { buildContainerLimits } from '../../src/runners/client-limits.js';
import { scratchDir } from '../support/cli.js';

// issue 33, item 13: the distcc forwarder (chroot/distcc-forward, run by this machine's
// perl as the farm image's runs it) against a sandbox that holds connections idle

/** Opens a connection to the Unix socket; resolves once connected, with a flag that turns true at the server's end. */
async function connect(socket: string): Promise<{ conn: Socket; ended: () => boolean }> {
  let ended = false;
  const conn = createConnection(socket);
  conn
    .on('end', () => (ended = true))
    .on('close', () => (ended = true))
    .on('error', () => (ended = true));
  conn.resume();
  await new Promise((resolve, reject) => conn.once('connect', resolve).once('error', reject));
  return { conn, ended: () => ended };
}

test('the forwarder serves at most MAX connections, closes the others at once and an idle one after its timeout, and still relays to an allowed task', async () => {
  const dir = scratchDir('iglu-forward-');
  const socket = path.join(dir, 's', 'socket');
  const allow = path.join(dir, 'allow');
  const echo = createServer((c) => c.pipe(c));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  writeFileSync(allow, `127.0.0.1 ${(echo.address() as { port: number }).port}\n`);
  const fwd = execa('perl', [path.join(CHROOT_SCRIPTS, 'distcc-forward'), socket, allow, '4', '2'], { reject: false });
  try {
    for (let i = 0; i < 100; i++) {
      if (
        await connect(socket)
          .then(({ conn }) => (conn.destroy(), true))
          .catch(() => false)
      )
        break;
      await sleep(50);
    }
    await sleep(500); // the probe's connection is over: its slot free again
    const idle = [];
    for (let i = 0; i < 20; i++) idle.push(await connect(socket));
    await sleep(500);
    assert.equal(idle.filter((c) => !c.ended()).length, 4, 'four served, sixteen closed at once');
    await sleep(2500);
    assert.equal(idle.filter((c) => !c.ended()).length, 0, 'the idle ones are closed after 2 s');
    // a slot is free again: a connection naming an allowed task is relayed both ways
    const { conn } = await connect(socket);
    let back = '';
    conn.on('data', (d: Buffer) => (back += d.toString()));
    conn.write('127.0.0.1\nhello');
    for (let i = 0; i < 100 && back !== 'hello'; i++) await sleep(20);
    assert.equal(back, 'hello');
    conn.destroy();
    for (const c of idle) c.conn.destroy();
  } finally {
    fwd.kill('SIGKILL');
    await fwd;
    echo.close();
  }
});

test("the forwarder's cap follows the farm's slots; the build containers' pids cover the sandbox's, the forwarder's and their own, memory three quarters of the engine's", async () => {
  assert.equal(forwarderConnections(2), 16);
  assert.equal(forwarderConnections(40), 80);
  const cmd = await forwarderCmd(80);
  assert.deepEqual(cmd.slice(-2), ['80', '10']);
  const limits = parseConfig('limits:\n  processes: 200\n  packages:\n    big: { processes: 500 }\n', 'iglu.yaml').limits;
  assert.deepEqual(buildContainerLimits(limits, 16 * 2 ** 30, 16), { memoryBytes: 12 * 2 ** 30, pidsLimit: 500 + 33 + 256 });
  assert.equal(buildContainerLimits(limits, 16 * 2 ** 30, 0).pidsLimit, 500 + 256, 'no forwarder');
});

test('started as a spread job starts it, with the socket and the allow list alone, the forwarder takes its defaults (32 connections, 10 s)', async () => {
  const dir = scratchDir('iglu-forward-');
  const socket = path.join(dir, 'socket');
  const fwd = execa('perl', [path.join(CHROOT_SCRIPTS, 'distcc-forward'), socket, path.join(dir, 'allow')], { reject: false });
  try {
    for (
      let i = 0;
      i < 100 &&
      !(await connect(socket)
        .then(({ conn }) => (conn.destroy(), true))
        .catch(() => false));
      i++
    )
      await sleep(50);
    await sleep(500);
    const idle = [];
    for (let i = 0; i < 40; i++) idle.push(await connect(socket));
    await sleep(500);
    assert.equal(idle.filter((c) => !c.ended()).length, 32);
    for (const c of idle) c.conn.destroy();
  } finally {
    fwd.kill('SIGKILL');
    await fwd;
  }
});

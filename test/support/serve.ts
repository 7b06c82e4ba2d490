import { execa, type ResultPromise } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from './cli.js';

/** A running `iglu serve` child: its base URL, the process, and its stderr so far. */
export interface ServeChild {
  url: string;
  child: ResultPromise;
  log: () => string;
  /** Ctrl-C, then wait for it to exit. */
  stop: () => Promise<void>;
}

/** Starts `iglu ARGS serve --listen 127.0.0.1:PORT` and waits until it listens. */
export async function startServe(args: string[], port: number, extra: string[] = []): Promise<ServeChild> {
  const child = execa('node', [CLI, ...args, 'serve', '--listen', `127.0.0.1:${port}`, ...extra], { reject: false, stdin: 'ignore', all: true, buffer: false });
  let text = '';
  child.all.on('data', (d: Buffer) => (text += String(d)));
  for (let i = 0; i < 200 && !/listening on/.test(text); i++) {
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  if (!/listening on/.test(text)) {
    child.kill('SIGKILL');
    throw new Error(`iglu serve did not start:\n${text}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    log: () => text,
    stop: async () => {
      child.kill('SIGINT');
      await child;
    },
  };
}

/** One API request with a bearer token: status and parsed body (text when it is not JSON). */
export async function api<T = unknown>(
  url: string,
  token: string | undefined,
  method: string,
  route: string,
  body?: { json?: unknown; bytes?: Buffer | string; type?: string },
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (body?.json !== undefined) headers['content-type'] = 'application/json';
  if (body?.type) headers['content-type'] = body.type;
  const res = await fetch(`${url}${route}`, { method, headers, ...(body ? { body: body.json !== undefined ? JSON.stringify(body.json) : body.bytes } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text
  }
  return { status: res.status, body: parsed as T };
}

/** Waits until `check` returns a value, polling every 200 ms. @throws after `ms` with the last value seen */
export async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    const v = await check().catch((err: unknown) => ((last = err), undefined));
    if (v !== undefined) return v;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
}

/**
 * A tar made member by member with Python's tarfile (which writes what node-tar and GNU
 * tar refuse to make: absolute names, `..`, links out, devices), gzip-compressed when
 * `gzip`. Each member: name, type (file, dir, symlink, link, chr, fifo), data or target.
 */
export async function craftTar(
  file: string,
  members: { name: string; type: string; data?: string; target?: string; size?: number }[],
  gzip = false,
): Promise<void> {
  const script = `
import io, json, sys, tarfile
members = json.loads(sys.argv[2])
with tarfile.open(sys.argv[1], 'w:gz' if sys.argv[3] == '1' else 'w', format=tarfile.PAX_FORMAT) as t:
    for m in members:
        i = tarfile.TarInfo(m['name'])
        i.mode = 0o755 if m['type'] in ('dir',) else 0o644
        kind = m['type']
        if kind == 'file':
            data = (m.get('data') or '').encode() if 'size' not in m else b'\\0' * m['size']
            i.size = len(data)
            t.addfile(i, io.BytesIO(data))
            continue
        i.type = {'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'link': tarfile.LNKTYPE, 'chr': tarfile.CHRTYPE, 'fifo': tarfile.FIFOTYPE}[kind]
        i.linkname = m.get('target', '')
        if kind == 'chr':
            i.devmajor, i.devminor = 1, 3
        t.addfile(i)
`;
  await execa('python3', ['-c', script, file, JSON.stringify(members), gzip ? '1' : '0']);
}

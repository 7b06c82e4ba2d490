import { readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import * as tar from 'tar';
import { IgluError } from '../errors.js';
import type { Task } from './task.js';

/** Where a client finds the service and who it is. */
export interface ServerRef {
  /** The service's base URL, e.g. http://127.0.0.1:7373. */
  url: string;
  token: string;
}

/**
 * One request to the service's API (Node's fetch), JSON unless `raw`.
 * @throws IgluError with the service's `{ error, hint }` for a 4xx/5xx, or when it does not answer
 */
export async function call<T>(s: ServerRef, method: string, route: string, body?: { json?: unknown; bytes?: Buffer; text?: string }): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${s.token}` };
  const [type, payload] =
    body?.json !== undefined
      ? ['application/json', JSON.stringify(body.json)]
      : body?.bytes
        ? ['application/octet-stream', body.bytes]
        : body?.text !== undefined
          ? ['text/plain', body.text]
          : [undefined, undefined];
  if (type) headers['content-type'] = type;
  const res = await fetch(new URL(route, s.url), { method, headers, ...(payload !== undefined ? { body: payload } : {}) }).catch((err: unknown) => {
    throw new IgluError(`the service at ${s.url} does not answer: ${(err as Error).message}`, {
      hint: 'is iglu serve running there? (--server, or IGLU_SERVER)',
    });
  });
  const text = await res.text();
  if (!res.ok) {
    const e = safeJson(text) as { error?: string; hint?: string } | undefined;
    throw new IgluError(`${method} ${route}: ${res.status} ${e?.error ?? text.slice(0, 200)}`, e?.hint ? { hint: e.hint } : {});
  }
  return (safeJson(text) ?? text) as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A directory packed as a gzip bundle (node-tar, portable: no owners or times of this machine), or a bundle file as it is. */
export async function bundleBytes(dirOrFile: string): Promise<Buffer> {
  const st = await stat(dirOrFile).catch(() => undefined);
  if (!st) throw new IgluError(`${dirOrFile} does not exist`, { hint: 'give a directory of <category>/<pkg>/ recipes, or a bundle (.tar, .tar.gz, .tar.zst)' });
  if (!st.isDirectory()) return readFile(dirOrFile);
  const chunks: Buffer[] = [];
  for await (const c of tar.c({ gzip: true, cwd: dirOrFile, portable: true }, ['.'])) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * aoinb's flow: POST /task, PUT its bundle, PUT its branch, PUT build.
 * @returns the task as queued
 */
export async function submitTask(s: ServerRef, o: { bundle: Buffer; branch?: string; priority?: number }): Promise<{ id: string; state: string }> {
  const { id } = await call<{ id: string }>(s, 'POST', '/task', { json: { ...(o.priority !== undefined ? { priority: o.priority } : {}) } });
  await call(s, 'PUT', `/task/${id}/build_bundle`, { bytes: o.bundle });
  if (o.branch) await call(s, 'PUT', `/task/${id}/branch`, { json: { branch: o.branch } });
  return call(s, 'PUT', `/task/${id}/build`);
}

/**
 * Follows a task's log as server-sent events, writing each line to `write`, and resumes
 * from the last event id after a dropped connection (as EventSource does).
 * @returns the task's final state (the `end` event)
 */
export async function followLog(s: ServerRef, id: string, write: (text: string) => void, signal?: AbortSignal): Promise<string> {
  let last = '';
  for (;;) {
    try {
      const res = await fetch(new URL(`/task/${id}/log`, s.url), {
        headers: { authorization: `Bearer ${s.token}`, accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) },
        ...(signal ? { signal } : {}),
      });
      if (!res.ok || !res.body) throw new IgluError(`GET /task/${id}/log: ${res.status} ${await res.text()}`);
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += Buffer.from(chunk).toString('utf8');
        for (let at = buf.indexOf('\n\n'); at >= 0; at = buf.indexOf('\n\n')) {
          const ev = parseEvent(buf.slice(0, at));
          buf = buf.slice(at + 2);
          if (ev.id) last = ev.id;
          if (ev.event === 'end') return ev.data;
          if (ev.data !== undefined && ev.event === 'message') write(`${ev.data}\n`);
        }
      }
    } catch (err) {
      if (err instanceof IgluError || signal?.aborted) throw err;
    }
    await sleep(1000);
  }
}

/** One server-sent event's fields (id, event, data lines joined). Pure. */
export function parseEvent(block: string): { id?: string; event: string; data: string } {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const [field, ...rest] = line.split(':');
    const value = rest.join(':').replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return { ...(id !== undefined ? { id } : {}), event: data.length || event !== 'message' ? event : 'comment', data: data.join('\n') };
}

/** The tasks the token sees. */
export async function listTasks(s: ServerRef, state?: string): Promise<Task[]> {
  return (await call<{ tasks: Task[] }>(s, 'GET', `/task${state ? `?state=${encodeURIComponent(state)}` : ''}`)).tasks;
}

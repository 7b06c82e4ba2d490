import dns from 'node:dns';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pRetry, { AbortError } from 'p-retry';
import { IgluError } from '../errors.js';
import { log } from '../log.js';
import { allowedByName, DEFAULT_DOWNLOAD_POLICY, refusedAddress, refusedUrl, type DownloadPolicy } from './address-rules.js';

/** A download the policy refused (never retried). */
class Refused extends Error {}

/** Redirects followed at most (each target checked again). */
const MAX_REDIRECTS = 10;

/** Seconds without a byte before a connection is given up. */
const IDLE_SECONDS = 60;

/**
 * dns.lookup (getaddrinfo, as Node's own connections resolve), then every address checked
 * by refusedAddress, unless `host` is allowed by name: the check happens at connect time on
 * the very addresses connected to, so a name that resolves to a public address when asked
 * once and to 127.0.0.1 the next (DNS rebinding) is still refused. Handles both callback
 * forms Node uses (`all: true` with autoSelectFamily, a single address otherwise).
 */
function guardedLookup(policy: DownloadPolicy, host: string): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses;
      const refused = allowedByName(policy, host) ? undefined : list.map((a) => refusedAddress(a.address)).find(Boolean);
      if (refused) return callback(new Refused(`${hostname} resolves to ${refused.replace(' is ', ', which is ')}`), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** One GET, connecting only where guardedLookup lets it. @returns the response, body unread */
function get(url: URL, policy: DownloadPolicy, signal?: AbortSignal): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(
      url,
      { lookup: guardedLookup(policy, url.hostname), agent: false, signal, timeout: IDLE_SECONDS * 1000, headers: { 'user-agent': 'iglu' } },
      resolve,
    );
    req.on('timeout', () => req.destroy(new Error(`no answer for ${IDLE_SECONDS} s`)));
    req.on('error', reject);
  });
}

/** A pass-through that fails once more than `max` bytes went through. */
function capped(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(seen > max ? new Refused(`the body is over ${max} bytes (sources.maxMiB)`) : null, chunk);
    },
  });
}

/** GETs `url`, following redirects, each hop checked by refusedUrl first. @returns the final response (2xx) */
async function follow(url: string, policy: DownloadPolicy, signal?: AbortSignal): Promise<http.IncomingMessage> {
  let at = url;
  for (let hop = 0; ; hop++) {
    const why = refusedUrl(policy, at);
    if (why) throw new Refused(hop ? `redirected to ${at}: ${why}` : why);
    const res = await get(new URL(at), policy, signal);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new Refused(`more than ${MAX_REDIRECTS} redirects`);
      at = new URL(res.headers.location, at).href;
      continue;
    }
    if (status >= 200 && status < 300) return res;
    res.resume();
    throw status >= 400 && status < 500 ? new AbortError(`HTTP ${status}`) : new Error(`HTTP ${status}`);
  }
}

/**
 * Downloads `url` to `file` for the source cache, as a build farm that fetches other
 * people's URLs must: only http and https; every address connected to — after DNS
 * resolution and after every redirect, in every spelling — must be a public unicast one
 * (address-rules.ts: no loopback, private, link-local, unique-local, CGNAT, reserved, or
 * IPv4 hidden in IPv6) unless its host is named in `policy.allowHosts`; at most
 * `policy.maxBytes` (Content-Length and the bytes read). Network errors and 5xx answers
 * are retried up to 3 times with backoff (p-retry); a refusal and 4xx never are.
 * @throws IgluError naming the URL and the rule that refused it, or why it failed (4xx,
 *   no network); `file` may be left partly written (the caller's temporary file)
 */
export async function download(url: string, file: string, policy: DownloadPolicy = DEFAULT_DOWNLOAD_POLICY, signal?: AbortSignal): Promise<void> {
  try {
    await pRetry(
      async () => {
        try {
          const res = await follow(url, policy, signal);
          const length = Number(res.headers['content-length'] ?? 0);
          if (length > policy.maxBytes) {
            res.destroy();
            throw new Refused(`the body is ${length} bytes, over ${policy.maxBytes} (sources.maxMiB)`);
          }
          await pipeline(res, capped(policy.maxBytes), createWriteStream(file));
        } catch (err) {
          if (err instanceof Refused) throw new AbortError(err);
          throw err;
        }
      },
      { retries: 3, minTimeout: 500, signal, onFailedAttempt: (e) => log.sources('download %s: attempt %d failed: %s', url, e.attemptNumber, e.message) },
    );
  } catch (err) {
    if (err instanceof Refused) {
      const host = URL.canParse(url) ? new URL(url).hostname.replace(/^\[|\]$/g, '') : url;
      throw new IgluError(`refused to download ${url}: ${err.message}`, {
        hint: `sources come from public addresses over http(s); to allow a host of your own network by name, add it to iglu.yaml: sources.allowHosts: [${host}]`,
      });
    }
    const cause = err as Error & { cause?: { code?: string; message?: string }; code?: string };
    throw new IgluError(`cannot download ${url}: ${cause.cause?.code ?? cause.code ?? cause.cause?.message ?? cause.message}`, {
      hint: `without network, seed the cache: iglu sources import FILE --url ${url} (or iglu sources seed)`,
      cause: err,
    });
  }
}

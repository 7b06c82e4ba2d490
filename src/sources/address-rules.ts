import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which hosts a download may reach: only public unicast addresses, except hosts the user
 * names in iglu.yaml (`sources.allowHosts`), compared by name, case-insensitively.
 */
export interface DownloadPolicy {
  /** Host names (as in the URL, no port) that may resolve to any address. */
  allowHosts: string[];
  /** Largest body accepted, bytes. */
  maxBytes: number;
}

/** The policy when iglu.yaml says nothing: public addresses only, 4 GiB at most. */
export const DEFAULT_DOWNLOAD_POLICY: DownloadPolicy = { allowHosts: [], maxBytes: 4 * 1024 ** 3 };

/**
 * Why an address may not be downloaded from, or undefined when it may: every range but
 * ipaddr.js's `unicast` is refused (IPv4: loopback, private, linkLocal, carrierGradeNat,
 * unspecified, broadcast, multicast, reserved, as RFC 6890 lists them; IPv6: loopback,
 * linkLocal, uniqueLocal, unspecified, multicast, reserved, and the forms that embed an
 * IPv4 address — ipv4Mapped, rfc6145, rfc6052, 6to4, teredo — whose IPv4 part could be
 * any of those). An IPv4-mapped IPv6 address is judged as the IPv4 address it maps
 * (`::ffff:127.0.0.1` is loopback). Pure.
 * @param address an IP address in any spelling Node's net.isIP accepts
 */
export function refusedAddress(address: string): string | undefined {
  if (!net.isIP(address)) return `${address} is not an IP address`;
  const ip = ipaddr.process(address);
  const range = ip.range();
  return range === 'unicast' ? undefined : `${ip.toString()} is a ${range} address`;
}

/** Whether `host` (a URL's hostname, IPv6 in brackets or not) is one the policy names. Pure. */
export function allowedByName(policy: DownloadPolicy, host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return policy.allowHosts.some((h) => h.toLowerCase() === bare);
}

/**
 * Why a URL may not be downloaded, before any connection, or undefined: the scheme must
 * be http or https, and a host written as an IP address (WHATWG URL parsing turns every
 * spelling — `2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]` — into a canonical one) must
 * pass refusedAddress unless allowed by name. Names are checked after resolution
 * (guardedLookup). Pure.
 */
export function refusedUrl(policy: DownloadPolicy, url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `the scheme ${u.protocol.replace(/:$/, '')} is not downloaded (only http and https)`;
  if (u.username || u.password) return 'a URL with credentials is not downloaded';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && !allowedByName(policy, u.hostname)) return refusedAddress(host);
  return undefined;
}

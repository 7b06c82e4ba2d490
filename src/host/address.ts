import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';

/**
 * The interface of the IPv4 default route from /proc/net/route text (proc(5)): the row
 * whose Destination and Mask are 00000000. Pure.
 */
export function defaultRouteInterface(routeTable: string): string | undefined {
  for (const line of routeTable.split('\n').slice(1)) {
    const [iface, dest, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && dest === '00000000' && mask === '00000000') return iface;
  }
  return undefined;
}

/**
 * The address to advertise when initialising a swarm without one given: the IPv4
 * address of the default-route interface, else the first non-internal IPv4 address.
 */
export async function defaultAdvertiseAddr(): Promise<string | undefined> {
  const iface = defaultRouteInterface(await readFile('/proc/net/route', 'utf8').catch(() => ''));
  const all = networkInterfaces();
  const v4 = (name: string) => all[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (iface && v4(iface)) return v4(iface);
  for (const name of Object.keys(all)) if (v4(name)) return v4(name);
  return undefined;
}

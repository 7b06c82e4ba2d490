import { isIP } from 'node:net';
import { ExitCode, IgluError } from '../errors.js';

/** Whether a host names this machine only: localhost, 127.0.0.0/8, ::1. Pure. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Where the API listens, from `HOST:PORT` (serve.listen or --listen). The API takes bearer
 * tokens over plain HTTP, so an address other than loopback (0.0.0.0, a LAN address, a
 * host name) sends them across the network in clear text: refused unless
 * serve.allowPlaintextRemote is true, and then `warning` says so for the service's log. Pure.
 * @throws IgluError (usage) for such an address without the setting, or a bad port
 */
export function listenAddress(listen: string, allowPlaintextRemote: boolean): { host: string; port: number; warning?: string } {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at);
  const port = Number(listen.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new IgluError(`bad listen address "${listen}"`, { hint: 'HOST:PORT, e.g. 127.0.0.1:7373', exitCode: ExitCode.usage });
  if (isLoopback(host)) return { host, port };
  if (!allowPlaintextRemote)
    throw new IgluError(`will not listen on ${listen}: tokens would cross the network in clear text (the API is plain HTTP)`, {
      hint: 'listen on 127.0.0.1 and put a TLS proxy in front; or, on a network you trust, set serve.allowPlaintextRemote: true in iglu.yaml',
      exitCode: ExitCode.usage,
    });
  return {
    host,
    port,
    warning: `WARNING: listening on ${host}, not loopback, over plain HTTP: tokens cross the network in clear text (serve.allowPlaintextRemote is true)`,
  };
}

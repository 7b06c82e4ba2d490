import type { Server } from 'node:http';
import type { ServeConfig } from '../config/schema.js';

/** How often the HTTP server looks for requests past their headers or request time, ms at most (Node's default is 30 s). */
const CHECK_MS = 1000;

/**
 * The Fastify (and Node http) options that bound each connection, from serve.connections:
 * the headers must arrive within `headersSeconds` (Node's headersTimeout), the whole
 * request, body included, within `requestSeconds` (requestTimeout; Fastify's default 0
 * means never), a connection silent either way is closed after `idleSeconds`
 * (server.timeout: a socket that sends nothing at all is otherwise kept for good), an idle
 * keep-alive after `keepAliveSeconds`. Half-sent requests are looked for every second, so
 * they are closed (408) close to their time. A log's event stream is a response, not a
 * request: it writes a comment every 10 s and so is never silent that long.
 */
export function connectionOptions(c: ServeConfig['connections']): {
  connectionTimeout: number;
  keepAliveTimeout: number;
  requestTimeout: number;
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
} {
  const request = Math.round(c.requestSeconds * 1000);
  const headers = Math.min(Math.round(c.headersSeconds * 1000), request);
  return {
    connectionTimeout: Math.round(c.idleSeconds * 1000),
    keepAliveTimeout: Math.round(c.keepAliveSeconds * 1000),
    requestTimeout: request,
    http: { headersTimeout: headers, requestTimeout: request, connectionsCheckingInterval: Math.min(CHECK_MS, headers) },
  };
}

/**
 * Caps the server's open connections at serve.connections.max (net.Server's
 * maxConnections: past it a new connection is closed at once, so the service keeps file
 * descriptors for its database, logs and builds). When one is turned away, idle
 * keep-alive connections are closed to make room, and the service's log says so, once a
 * minute at most.
 */
export function capConnections(server: Server, max: number, say: (line: string) => void): void {
  server.maxConnections = max;
  let dropped = 0;
  let lastSaid = 0;
  server.on('drop', () => {
    dropped++;
    server.closeIdleConnections();
    if (Date.now() - lastSaid < 60_000) return;
    lastSaid = Date.now();
    say(`http: ${max} connections open (serve.connections.max): ${dropped} turned away since the service started`);
  });
}

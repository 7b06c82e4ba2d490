import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../layout/package-root.js';
import { RequestError } from './request-error.js';
import type { TaskService } from './service.js';
import { findToken } from './tokens.js';

/** The dashboard's files (web/ in iglu's package). */
const WEB = path.join(PACKAGE_ROOT, 'web');

/** The cookie the dashboard keeps its token in (HttpOnly, SameSite=Strict): EventSource cannot send an Authorization header. */
export const TOKEN_COOKIE = 'iglu_token';

/**
 * The dashboard: `GET /` (web/dashboard.html) and its script, `POST /login` (a token in,
 * checked, then kept in an HttpOnly, SameSite=Strict cookie that every API route takes
 * as it takes a bearer token), `POST /logout`, and `GET /me` (who the token is).
 */
export async function dashboardRoutes(app: FastifyInstance, service: TaskService): Promise<void> {
  const [html, script] = await Promise.all([readFile(path.join(WEB, 'dashboard.html'), 'utf8'), readFile(path.join(WEB, 'dashboard.js'), 'utf8')]);
  const r = app.withTypeProvider<ZodTypeProvider>();
  const hidden = { schema: { hide: true } };
  const page = { 'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:", 'x-content-type-options': 'nosniff' };
  r.get('/', hidden, (_req, reply) => reply.headers(page).type('text/html; charset=utf-8').send(html));
  r.get('/dashboard.js', hidden, (_req, reply) => reply.headers(page).type('text/javascript; charset=utf-8').send(script));
  r.post('/login', { schema: { hide: true, body: z.object({ token: z.string().min(1).max(200) }) } }, (req, reply) => {
    const token = findToken(service.db, req.body.token);
    if (!token) throw new RequestError(401, 'that token is not valid', 'iglu serve token add NAME --scope read makes one');
    return reply.setCookie(TOKEN_COOKIE, req.body.token, { httpOnly: true, sameSite: 'strict', path: '/' }).code(204).send();
  });
  r.post('/logout', hidden, (_req, reply) => reply.clearCookie(TOKEN_COOKIE, { path: '/' }).code(204).send());
  r.get('/me', { config: { scope: 'read' }, schema: { response: { 200: z.object({ name: z.string(), scope: z.string() }) } } }, (req) => ({
    name: req.token!.name,
    scope: req.token!.scope,
  }));
}

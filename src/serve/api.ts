import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IGLU_VERSION } from '../layout/package-root.js';
import { artifactList, openArtifact } from './artifacts.js';
import { connectionOptions } from './connections.js';
import { dashboardRoutes, TOKEN_COOKIE } from './dashboard-routes.js';
import * as S from './api-schemas.js';
import type { FarmView } from './farm-view.js';
import { streamLog } from './log-events.js';
import { RequestError } from './request-error.js';
import type { TaskService } from './service.js';
import { FINAL_STATES, type Scope, type Task } from './task.js';
import type { TokenRow } from './task-db.js';
import { findToken, scopeAllows, seesTask } from './tokens.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a route needs; absent: public. */
    scope?: Scope;
  }
  interface FastifyRequest {
    token?: TokenRow;
  }
}

/** What the API reads beyond the tasks. */
export interface ApiParts {
  service: TaskService;
  farm: () => Promise<FarmView>;
  /** The Prometheus text of `GET /metrics`. */
  metrics: () => Promise<string>;
  /** Called when a task was queued or cancelled, so the worker looks at once. */
  poke: () => void;
}

/**
 * The build service's HTTP API: aoinb's proposed paths (`/task`, `/task/{id}/build_bundle`,
 * `/task/{id}/branch`, `/task/{id}/build`, `/task/{id}/status`, `/builder/status`) and
 * what a user expects next (`/task/{id}/log` as text or server-sent events, artifacts,
 * `DELETE /task/{id}`, `/metrics`), JSON in and out, checked with zod schemas from which
 * `/openapi.json` is made (@fastify/swagger). Every route but the OpenAPI document needs a
 * bearer token (or the dashboard's cookie) whose scope allows it; a submit token sees
 * only its own tasks. Refusals are 4xx with `{ error, hint }`.
 */
export async function makeApi(parts: ApiParts): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, ...connectionOptions(parts.service.config.connections) }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'iglu serve', version: IGLU_VERSION, description: 'Iglunix package builds on the farm: aoinb-style tasks' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  // bundles (and a branch sent as a form by curl -d) arrive as streams: their size is checked while they are read
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof RequestError) return reply.code(err.status).send({ error: err.message, ...(err.hint ? { hint: err.hint } : {}) });
    if (hasZodFastifySchemaValidationErrors(err)) return reply.code(400).send({ error: `bad request: ${err.message}` });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).send({ error: status >= 500 ? `internal error: ${(err as Error).message}` : (err as Error).message });
  });
  app.addHook('onRequest', (req, _reply, done) => {
    try {
      authenticate(parts.service, req);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
  routes(app, parts);
  await dashboardRoutes(app, parts.service);
  await app.ready();
  return app;
}

function authenticate(service: TaskService, req: FastifyRequest): void {
  const needs = req.routeOptions.config.scope;
  if (!needs) return;
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const token = findToken(service.db, bearer ?? req.cookies[TOKEN_COOKIE]);
  if (!token) throw new RequestError(401, 'no valid token', 'send Authorization: Bearer TOKEN (iglu serve token add NAME makes one)');
  if (!scopeAllows(token.scope, needs)) throw new RequestError(403, `the token ${token.name} (${token.scope}) may not do this: it needs ${needs}`);
  req.token = token;
}

/** The task, when the request's token sees it (404 otherwise: a task of another submitter is not there for it). */
function visibleTask(service: TaskService, req: FastifyRequest, id: string): Task {
  const t = service.task(id);
  if (!seesTask(req.token!, t.ownerId)) throw new RequestError(404, `no task ${id}`, 'GET /task lists the tasks');
  return t;
}

function routes(app: FastifyInstance, parts: ApiParts): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { service } = parts;
  const idParams = { params: S.TaskIdParams };
  r.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  r.get('/task', { config: { scope: 'read' }, schema: { querystring: S.TaskListQuery, response: { 200: S.TaskListSchema } } }, (req) => ({
    tasks: service.db.list({ ...(req.token!.scope === 'submit' ? { ownerId: req.token!.id } : {}), ...(req.query.state ? { states: [req.query.state] } : {}) }),
  }));
  r.post('/task', { config: { scope: 'submit' }, schema: { body: S.CreateTaskBody, response: { 201: S.TaskRef } } }, (req, reply) => {
    const t = service.create(req.token!, { ...(req.body ?? {}), mayRaise: req.token!.scope === 'admin' });
    reply.code(201);
    return { id: t.id, state: t.state };
  });
  r.put('/task/:id/build_bundle', { config: { scope: 'submit' }, schema: { ...idParams, response: { 200: S.TaskSchema } } }, async (req) => {
    visibleTask(service, req, req.params.id);
    if (!isStream(req.body))
      throw new RequestError(
        400,
        'the body must be the bundle itself (a tar, plain, gzip or zstd)',
        'curl -T bundle.tar.gz, or --data-binary @bundle.tar.gz -H "content-type: application/octet-stream"',
      );
    return service.putBundle(req.params.id, req.body);
  });
  r.put('/task/:id/branch', { config: { scope: 'submit' }, schema: { ...idParams, response: { 200: S.TaskSchema } } }, async (req) => {
    visibleTask(service, req, req.params.id);
    return service.setBranch(req.params.id, await branchOf(req.body));
  });
  r.put('/task/:id/build', { config: { scope: 'submit' }, schema: { ...idParams, response: { 202: S.TaskRef } } }, (req, reply) => {
    visibleTask(service, req, req.params.id);
    const t = service.queue(req.params.id);
    parts.poke();
    reply.code(202);
    return { id: t.id, state: t.state };
  });
  r.get('/task/:id/status', { config: { scope: 'read' }, schema: { ...idParams, response: { 200: S.TaskSchema } } }, (req) =>
    visibleTask(service, req, req.params.id),
  );
  r.delete('/task/:id', { config: { scope: 'submit' }, schema: { ...idParams, response: { 200: S.TaskRef } } }, (req) => {
    visibleTask(service, req, req.params.id);
    const t = service.cancel(req.params.id, req.token!.name);
    parts.poke();
    return { id: t.id, state: t.state };
  });
  resultRoutes(app, parts);
}

/** The task's log, artifacts, the farm and the metrics. */
function resultRoutes(app: FastifyInstance, parts: ApiParts): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { service } = parts;
  const idParams = { params: S.TaskIdParams };
  r.get('/task/:id/log', { config: { scope: 'read' }, schema: idParams }, async (req, reply) => logRoute(service, req, reply, req.params.id));
  r.get('/task/:id/artifacts', { config: { scope: 'read' }, schema: { ...idParams, response: { 200: S.ArtifactList } } }, async (req) => ({
    artifacts: await artifactList(service.paths, visibleTask(service, req, req.params.id)),
  }));
  r.get('/task/:id/artifacts/*', { config: { scope: 'read' }, schema: { params: S.TaskIdParams.extend({ '*': z.string() }) } }, async (req, reply) => {
    const name = req.params['*'];
    const stream = await openArtifact(service.paths, visibleTask(service, req, req.params.id), name);
    return reply
      .type(name.endsWith('.json') ? 'application/json' : name.endsWith('.log') ? 'text/plain; charset=utf-8' : 'application/octet-stream')
      .send(stream);
  });
  r.get('/builder/status', { config: { scope: 'read' }, schema: { response: { 200: S.BuilderStatus } } }, async () => {
    const counts = service.db.counts();
    return { ...(await parts.farm()), tasks: { building: counts.building ?? 0, queued: counts.queued ?? 0, blocked: counts.blocked ?? 0 } };
  });
  r.get('/metrics', { config: { scope: 'read' } }, async (_req, reply) => reply.type('text/plain; version=0.0.4').send(await parts.metrics()));
}

async function logRoute(service: TaskService, req: FastifyRequest, reply: FastifyReply, id: string): Promise<void> {
  visibleTask(service, req, id);
  const file = service.paths.log(id);
  if (!/text\/event-stream/.test(req.headers.accept ?? '')) {
    return reply.type('text/plain; charset=utf-8').send(await readFile(file).catch(() => ''));
  }
  const from = Number(req.headers['last-event-id'] ?? 0);
  reply.hijack();
  const closed = new AbortController();
  req.raw.on('close', () => closed.abort());
  const ended = () => {
    const t = service.db.get(id);
    return t && FINAL_STATES.includes(t.state) ? t.state : undefined;
  };
  await streamLog(reply.raw, file, Number.isInteger(from) && from >= 0 ? from : 0, ended, closed.signal);
}

function isStream(body: unknown): body is Readable {
  return typeof (body as Readable | undefined)?.pipe === 'function';
}

/** The branch a PUT names: text, JSON `{"branch": …}` or a JSON string. @throws RequestError 400 */
async function branchOf(body: unknown): Promise<string> {
  let value: unknown = body;
  if (isStream(body)) {
    let text = '';
    for await (const chunk of body) {
      text += String(chunk);
      if (text.length > 1024) throw new RequestError(400, 'a branch name is short');
    }
    value = text;
  }
  if (typeof value === 'string') {
    const text = value.trim();
    try {
      value = text.startsWith('{') || text.startsWith('"') ? JSON.parse(text) : text;
    } catch {
      throw new RequestError(400, 'the body is not JSON', 'send the branch as text, or as {"branch": "main"}');
    }
  }
  const branch = typeof value === 'string' ? value : (value as { branch?: unknown } | null)?.branch;
  if (typeof branch !== 'string' || !branch) throw new RequestError(400, 'no branch named', 'send the branch as text, or as {"branch": "main"}');
  return branch;
}

import { createServer } from 'node:http';
import Fastify, {
  type FastifyReply,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import { ApiError, forbidden, isPermanentDbError, isTransientDbError } from '../shared/errors.ts';
import type { Role } from '../shared/config.ts';
import type { Db } from '../shared/db/client.ts';
import type { Logger } from '../shared/logger.ts';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { apiPlugin } from '../producers/http/api.ts';
import { openApiDocument } from '../producers/http/openapi.ts';
import { authenticate, type AuthDeps } from '../producers/http/auth.ts';
import type { ProducerDeps } from '../producers/deps.ts';
import { dashboardPlugin } from './dashboard.ts';
import { createMetrics } from './metrics.ts';
import { readiness } from './health.ts';

export const BODY_LIMIT = 1024 * 1024;

/** Fastify's own errors, mapped into the contract's error shape and codes. */
function toApiError(err: FastifyError): ApiError {
  if (err instanceof ApiError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(
        'payload_too_large',
        'The request body is larger than 1 MiB; send at most 500 records an event.',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(
        'validation_failed',
        'Send the body as JSON with "Content-Type: application/json".',
        [{ path: '', message: 'Content-Type must be application/json' }],
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('validation_failed', 'The request body is empty; send a JSON object.', [
        { path: '', message: 'is required' },
      ]);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(
        'validation_failed',
        'The Content-Length header does not match the body.',
      );
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new ApiError('validation_failed', 'The request body is not valid JSON.', [
      { path: '', message: 'is not valid JSON' },
    ]);
  }
  if (err.statusCode === 413)
    return new ApiError('payload_too_large', 'The request body is larger than 1 MiB.');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new ApiError(
      'validation_failed',
      'The request could not be read; check its headers and body.',
    );
  }
  if (isTransientDbError(err))
    return new ApiError(
      'unavailable',
      'The exchange cannot reach its database right now; try again shortly.',
      [],
      5,
    );
  // A value the schemas let through but Postgres refuses (out of range, say): the request is at
  // fault and would fail again, so it is a 400, not "try again".
  if (isPermanentDbError(err)) {
    return new ApiError(
      'validation_failed',
      'A value in the request is out of the range the exchange can store.',
    );
  }
  return new ApiError(
    'unavailable',
    'The exchange hit an unexpected error; it has been logged. Try again shortly.',
    [],
    5,
  );
}

export interface ServerDeps {
  db: Db;
  log: Logger;
  roles: readonly Role[];
  redis: Redis | null;
  auth: AuthDeps;
  queues: Queue[];
  /** Present when this process serves the API. */
  producer: ProducerDeps | null;
  requestTimeoutMs: number;
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // Node checks request timeouts only every connectionsCheckingInterval (30 s by default), so
    // the server is built here with a check every second: a client that stalls is cut on time.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: deps.requestTimeoutMs,
          headersTimeout: Math.min(deps.requestTimeoutMs, 20_000),
          connectionsCheckingInterval: 1_000,
        },
        handler,
      ),
    connectionTimeout: 60_000,
    // Let every path segment reach the route, whose schema names the field and the rule broken
    // (the URL itself is bounded by Node's 16 KiB header limit).
    routerOptions: { maxParamLength: 16 * 1024 },
    // Router-level errors (a malformed %-escape) answer in the contract's shape too.
    frameworkErrors: (err, _req, reply) => {
      void (reply as unknown as FastifyReply)
        .code(400)
        .send(
          new ApiError(
            'validation_failed',
            'The request URL could not be read; check its %-escapes.',
            [{ path: '', message: err.message.replace(/'.*'/, 'a path segment') }],
          ).toBody(),
        );
    },
    return503OnClosing: true,
    // Request ids in logs let an operator follow one call; never the body.
    genReqId: () => crypto.randomUUID(),
  });
  // Only JSON is accepted: a text/plain body is a wrong content type, not a string to validate.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const apiErr = toApiError(err);
    if (apiErr.status >= 500 && !(err instanceof ApiError))
      req.log.error({ err }, 'request failed');
    if (apiErr.retryAfterSeconds !== undefined)
      reply.header('retry-after', String(apiErr.retryAfterSeconds));
    return reply.code(apiErr.status).send(apiErr.toBody());
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(
        new ApiError(
          'not_found',
          `No route ${req.method} ${req.url.split('?')[0]}; see /docs.`,
        ).toBody(),
      ),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await readiness({ db: deps.db, redis: deps.redis, roles: deps.roles });
    return reply
      .code(r.ok ? 200 : 503)
      .send({ status: r.ok ? 'ready' : 'not_ready', roles: deps.roles, checks: r.checks });
  });

  const metrics = createMetrics({ db: deps.db, queues: deps.queues });
  await app.register(async (scope) => {
    scope.addHook('onRequest', authenticate(deps.auth));
    scope.addHook('onRequest', async (req) => {
      if (req.actor?.kind !== 'ops' && req.actor?.kind !== 'state_admin')
        throw forbidden('read metrics');
    });
    scope.get('/metrics', async (_req, reply) =>
      reply.type(metrics.contentType).send(await metrics.metrics()),
    );
  });

  if (deps.queues.length > 0) await dashboardPlugin(app, { auth: deps.auth, queues: deps.queues });
  const producer = deps.producer;
  if (producer) {
    // The contract for SIS vendors, generated from the zod schemas; no token needed to read it.
    const document = openApiDocument();
    app.get('/openapi.json', async () => document);
    await app.register(fastifySwagger, {
      mode: 'static',
      specification: { document: document as never },
    });
    await app.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      uiConfig: { docExpansion: 'list', deepLinking: true },
    });
    await app.register(async (scope) => apiPlugin(scope, producer));
  }
  return app;
}

import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { ApiError } from '../../shared/errors.ts';
import type { ProducerDeps } from '../deps.ts';
import { authenticate } from './auth.ts';
import { credentialRoutes } from './routes/credentials.ts';
import { eventRoutes } from './routes/events.ts';
import { readRoutes } from './routes/reads.ts';
import { setupRoutes } from './routes/setup.ts';
import { studentRoutes } from './routes/students.ts';
import { syncRoutes } from './routes/sync.ts';
import { waiverRoutes } from './routes/waivers.ts';

/** Every /v1 route, behind bearer-token authentication. */
export async function apiPlugin(app: FastifyInstance, deps: ProducerDeps): Promise<void> {
  // onRequest, before the body is parsed: a caller without a valid token learns nothing, not even that its JSON was bad.
  app.addHook(
    'onRequest',
    authenticate({
      db: deps.db,
      clock: deps.clock,
      log: deps.log,
      adminToken: deps.config.KTS_ADMIN_TOKEN,
    }),
  );
  // Per credential, after authentication (preHandler), counted in Redis so every API process shares
  // one budget. If Redis is down the limit is skipped: taking events durably matters more.
  await app.register(rateLimit, {
    hook: 'preHandler',
    max: deps.config.KTS_RATE_LIMIT_MAX,
    timeWindow: deps.config.KTS_RATE_LIMIT_WINDOW_MS,
    keyGenerator: (req) =>
      req.actor ? `cred:${req.actor.credentialId ?? 'admin-token'}` : `ip:${req.ip}`,
    nameSpace: `${deps.config.KTS_QUEUE_PREFIX}:ratelimit:`,
    ...(deps.redis ? { redis: deps.redis } : {}),
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) =>
      new ApiError(
        'rate_limited',
        `This credential sent more than ${ctx.max} requests in ${deps.config.KTS_RATE_LIMIT_WINDOW_MS / 1000} s; wait ${ctx.after} and send again.`,
        [],
        Math.max(1, Math.ceil(ctx.ttl / 1000)),
      ),
  });
  credentialRoutes(app, deps);
  setupRoutes(app, deps);
  eventRoutes(app, deps);
  readRoutes(app, deps);
  studentRoutes(app, deps);
  waiverRoutes(app, deps);
  syncRoutes(app, deps);
}

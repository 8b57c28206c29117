import type { FastifyInstance } from 'fastify';
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
  credentialRoutes(app, deps);
  setupRoutes(app, deps);
  eventRoutes(app, deps);
  readRoutes(app, deps);
  studentRoutes(app, deps);
  waiverRoutes(app, deps);
  syncRoutes(app, deps);
}

import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { ApiError, forbidden } from '../shared/errors.ts';
import { authenticate, type AuthDeps } from '../producers/http/auth.ts';

export const DASHBOARD_PATH = '/ops/queues';

/**
 * Bull Board over every queue, for ops and the state office, openable in a browser (Basic auth,
 * the token as password). Ops is read-only: every board action that changes a job (retry, clean,
 * promote, remove...) is a non-GET request and answers 403 for ops. Job data on the board is event
 * references, never student data.
 */
export async function dashboardPlugin(
  app: FastifyInstance,
  opts: { auth: AuthDeps; queues: Queue[] },
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  createBullBoard({
    queues: opts.queues.map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'KTS exchange queues' } },
  });
  serverAdapter.setBasePath(DASHBOARD_PATH);
  const guard = authenticate(opts.auth, { allowBasic: true });
  await app.register(
    async (scope) => {
      // Bull Board installs its own error handler inside its plugin, so a thrown 401/403 would
      // come out as its 500. The guard answers in the contract's shape itself instead.
      scope.addHook('onRequest', async (req, reply) => {
        try {
          await guard(req, reply);
          const actor = req.actor;
          if (!actor || (actor.kind !== 'ops' && actor.kind !== 'state_admin')) {
            throw forbidden('open the queue dashboard');
          }
          if (actor.kind === 'ops' && req.method !== 'GET' && req.method !== 'HEAD') {
            throw forbidden('change jobs (ops is read-only)');
          }
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          return reply.code(err.status).send(err.toBody());
        }
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: DASHBOARD_PATH },
  );
}

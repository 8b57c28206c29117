import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { createClock, type Clock } from '../shared/clock.ts';
import type { Config } from '../shared/config.ts';
import { createDb, type Db } from '../shared/db/client.ts';
import { migrateToLatest } from '../shared/db/migrate.ts';
import type { Logger } from '../shared/logger.ts';
import { createRedis } from '../shared/redis.ts';
import { createEnqueuer, type Enqueuer } from '../producers/enqueue.ts';
import type { ProducerDeps } from '../producers/deps.ts';
import { startSweeper } from '../producers/sweeper.ts';
import { startScheduler } from '../producers/scheduler.ts';
import { startWorkers, type RunningWorkers } from '../workers/main.ts';
import { buildServer } from './server.ts';

export interface Exchange {
  app: FastifyInstance;
  db: Db;
  clock: Clock;
  enqueuer: Enqueuer | null;
  workers: RunningWorkers | null;
  /** Ordered shutdown; resolves with whether workers had to be forced. */
  close(): Promise<{ forced: boolean }>;
}

/**
 * The composition root: builds what the configured roles need and nothing more, and shuts it down
 * in order (HTTP first so no new events arrive, then the sweeper, workers with a deadline, queues,
 * Redis, and Postgres last because everything before it may still write).
 */
export async function startExchange(
  config: Config,
  log: Logger,
  opts: { clock?: Clock; listen?: boolean } = {},
): Promise<Exchange> {
  const roles = config.KTS_ROLES;
  const clock = opts.clock ?? createClock(config.KTS_NOW);
  const db = createDb({
    connectionString: config.DATABASE_URL,
    max: config.KTS_DB_POOL_MAX,
    applicationName: `kts-${roles.join('+')}`,
  });
  if (config.KTS_MIGRATE_ON_START) {
    const r = await migrateToLatest(db);
    for (const m of r.results ?? [])
      log.info({ migration: m.migrationName, status: m.status }, 'migration');
  }

  const needsQueues = roles.includes('api') || roles.includes('scheduler');
  const enqueuer = needsQueues
    ? createEnqueuer({ redisUrl: config.REDIS_URL, prefix: config.KTS_QUEUE_PREFIX, log })
    : null;
  // One fail-fast connection for readiness checks and the rate limiter's counters.
  const probe: Redis = createRedis(config.REDIS_URL, 'producer');
  probe.on('error', () => {});
  const producer: ProducerDeps | null = enqueuer
    ? { config, db, clock, log, enqueuer, redis: probe }
    : null;

  const workers = roles.includes('workers') ? await startWorkers({ config, db, clock, log }) : null;
  const sweeper = producer ? startSweeper(producer) : null;
  const scheduler =
    roles.includes('scheduler') && enqueuer
      ? startScheduler({ config, db, log, queue: enqueuer.syncQueue })
      : null;

  const app = await buildServer({
    db,
    log,
    roles,
    redis: probe,
    auth: { db, clock, log, adminToken: config.KTS_ADMIN_TOKEN },
    queues: roles.includes('api') && enqueuer ? enqueuer.queues : [],
    producer: roles.includes('api') ? producer : null,
    requestTimeoutMs: config.KTS_REQUEST_TIMEOUT_MS,
  });
  if (opts.listen !== false) {
    await app.listen({ port: config.PORT, host: config.HOST });
  } else {
    await app.ready();
  }

  let closing: Promise<{ forced: boolean }> | null = null;
  return {
    app,
    db,
    clock,
    enqueuer,
    workers,
    close() {
      closing ??= (async () => {
        const step = async (name: string, fn: () => Promise<unknown>) => {
          try {
            await fn();
            log.info({ step: name }, 'shutdown step done');
          } catch (err) {
            log.error({ err, step: name }, 'shutdown step failed');
          }
        };
        let forced = false;
        await step('http', () => app.close());
        await step('sweeper', async () => sweeper?.stop());
        await step('scheduler', async () => scheduler?.stop());
        await step('workers', async () => {
          if (workers) forced = (await workers.close(config.KTS_SHUTDOWN_TIMEOUT_MS)).forced;
        });
        await step('queues', async () => enqueuer?.close());
        await step('redis', () => probe.quit().catch(() => probe.disconnect()));
        await step('postgres', () => db.destroy());
        return { forced };
      })();
      return closing;
    },
  };
}

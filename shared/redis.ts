import { Redis, type RedisOptions } from 'ioredis';

/**
 * Producers fail fast and workers wait (BullMQ's production guide): an API that cannot reach Redis
 * answers 202 anyway, because the event is already durable in Postgres and the sweeper enqueues it
 * later; a worker keeps reconnecting for as long as it takes.
 */
export function createRedis(url: string, kind: 'producer' | 'worker'): Redis {
  const opts: RedisOptions = {
    maxRetriesPerRequest: null,
    enableOfflineQueue: kind === 'worker',
    // Reconnect quickly at first, then every 5 s at most.
    retryStrategy: (times) => Math.min(5_000, 100 * 2 ** Math.min(times, 6)),
    connectTimeout: 5_000,
  };
  if (kind === 'producer') opts.maxRetriesPerRequest = 1;
  return new Redis(url, opts);
}

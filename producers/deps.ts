import type { Clock } from '../shared/clock.ts';
import type { Config } from '../shared/config.ts';
import type { Db } from '../shared/db/client.ts';
import type { Logger } from '../shared/logger.ts';
import type { Redis } from 'ioredis';
import type { Enqueuer } from './enqueue.ts';

export interface ProducerDeps {
  config: Config;
  db: Db;
  clock: Clock;
  log: Logger;
  enqueuer: Enqueuer;
  /** Shared counters (the per-credential rate limit); null runs them in process memory. */
  redis?: Redis | null;
}

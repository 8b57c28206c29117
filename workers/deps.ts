import type { Clock } from '../shared/clock.ts';
import type { Config } from '../shared/config.ts';
import type { Db } from '../shared/db/client.ts';
import type { Logger } from '../shared/logger.ts';

/** What the workers are given: explicit, no container. */
export interface WorkerDeps {
  config: Config;
  db: Db;
  clock: Clock;
  log: Logger;
}

import type { Queue } from 'bullmq';
import type { Config } from '../shared/config.ts';
import type { Db } from '../shared/db/client.ts';
import type { Logger } from '../shared/logger.ts';
import { syncTimeZones } from '../shared/db/repos/sync.ts';
import { cronAt, schedulerId, syncQueue } from '../shared/queues/sync.ts';
import { every } from './periodic.ts';

export interface SchedulerDeps {
  config: Config;
  db: Db;
  log: Logger;
  queue: Queue;
}

/**
 * Make the job schedulers match the time zones in use: one per zone of an opted-in high school,
 * firing `nightly` at KTS_SYNC_AT local time. A scheduler that already exists with the same
 * pattern and zone is left alone: upserting it again would replace its pending job and recompute
 * the next run from now, which loses a night whose job is due but not yet taken by a worker, and
 * in the repeated hour of the November change schedules a second 01:30. Any number of scheduler
 * processes may run this at once (BullMQ's upsert is one Lua script); the run key in Postgres, not
 * the scheduler, is what makes a night run once.
 */
export async function reconcileSchedulers(deps: SchedulerDeps): Promise<string[]> {
  const zones = await syncTimeZones(deps.db);
  const pattern = cronAt(deps.config.KTS_SYNC_AT);
  for (const tz of zones) {
    const existing = await deps.queue.getJobScheduler(schedulerId(tz));
    if (existing && existing.pattern === pattern && existing.tz === tz) continue;
    await deps.queue.upsertJobScheduler(
      schedulerId(tz),
      { pattern, tz },
      { name: syncQueue.jobs.nightly, data: { timezone: tz }, opts: syncQueue.defaultJobOptions },
    );
  }
  const wanted = new Set(zones.map(schedulerId));
  for (const s of await deps.queue.getJobSchedulers()) {
    if (s.key.startsWith('nightly-sync-') && !wanted.has(s.key)) {
      await deps.queue.removeJobScheduler(s.key);
    }
  }
  return zones;
}

/** Reconcile at start and every KTS_SCHEDULER_REFRESH_MS: new zones, and Redis restarted empty. */
export function startScheduler(deps: SchedulerDeps): { stop(): Promise<void> } {
  let last = '';
  return every(
    deps.config.KTS_SCHEDULER_REFRESH_MS,
    async () => {
      const zones = await reconcileSchedulers(deps);
      if (zones.join(',') !== last) {
        deps.log.info({ zones, at: deps.config.KTS_SYNC_AT }, 'nightly sync schedulers in place');
      }
      last = zones.join(',');
    },
    (err) => deps.log.warn({ err }, 'could not reconcile job schedulers; will try again'),
  );
}

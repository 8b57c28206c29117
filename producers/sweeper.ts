import { pendingEvents } from '../shared/db/repos/events.ts';
import type { EventType } from '../shared/events.ts';
import type { ProducerDeps } from './deps.ts';
import { every } from './periodic.ts';
import { enqueueRunSchools } from '../shared/sync-plan.ts';

/**
 * Redis is the work queue, Postgres the record of what arrived. The sweeper offers again every
 * event that is durable but still pending after a grace period: one whose enqueue failed, one lost
 * when Redis restarted empty. Re-adding a job that is still in Redis is a no-op (same job id), and
 * applying an event twice is harmless (the event row guards it).
 *
 * A round offers at most `maxPerRound` events and the next round goes on from there (`position`),
 * so a large backlog (a morning peak longer than the grace period) is walked through over a few
 * rounds instead of being re-offered whole every interval by every API process.
 */
export async function sweepOnce(
  deps: ProducerDeps,
  position: { after: number } = { after: 0 },
  batch = 1000,
  maxPerRound = 10_000,
): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - deps.config.KTS_SWEEP_AFTER_MS);
  let total = 0;
  while (total < maxPerRound) {
    const rows = await pendingEvents(deps.db, before, position.after, batch);
    if (rows.length === 0) {
      position.after = 0; // the end of the backlog: start from the oldest next round
      break;
    }
    total += await deps.enqueuer.enqueueMany(
      rows.map((r) => ({
        eventSeq: r.seq,
        schoolId: r.school_id,
        eventId: r.event_id,
        type: r.type as EventType,
      })),
    );
    position.after = rows[rows.length - 1]!.seq;
    if (rows.length < batch) {
      position.after = 0;
      break;
    }
  }
  return total;
}

/** Sync runs whose schools are still waiting (their jobs lost with Redis, say) are enqueued again. */
export async function sweepSyncRuns(deps: ProducerDeps): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - deps.config.KTS_SWEEP_AFTER_MS);
  const runs = await deps.db
    .selectFrom('sync_run_schools as s')
    .innerJoin('sync_runs as r', 'r.id', 's.run_id')
    .select('s.run_id')
    .distinct()
    .where('s.status', '=', 'pending')
    .where('r.created_at', '<', before)
    .limit(100)
    .execute();
  let n = 0;
  const plan = { db: deps.db, clock: deps.clock, log: deps.log, queue: deps.enqueuer.syncQueue };
  for (const r of runs) n += await enqueueRunSchools(plan, r.run_id);
  return n;
}

export function startSweeper(deps: ProducerDeps): { stop(): Promise<void> } {
  const position = { after: 0 };
  return every(
    deps.config.KTS_SWEEP_INTERVAL_MS,
    async () => {
      const [events, syncSchools] = await Promise.all([
        sweepOnce(deps, position),
        sweepSyncRuns(deps),
      ]);
      if (events + syncSchools > 0)
        deps.log.info(
          { events, syncSchools },
          'sweeper offered pending work again (ids still queued are skipped)',
        );
    },
    (err) => deps.log.warn({ err }, 'sweep failed; will try again'),
  );
}

import { sql } from 'kysely';
import { getSchool } from '../shared/db/repos/schools.ts';
import { lockKey } from '../shared/db/repos/locks.ts';
import {
  copyUnknowns,
  countSync,
  finishRunSchool,
  lockRunSchool,
  recentCreated,
  runSchoolsToEnqueue,
} from '../shared/db/repos/sync.ts';
import { planManualRun } from '../shared/sync-plan.ts';
import { shouldHold } from '../shared/domain/sync.ts';
import type { SyncSchoolJob } from '../shared/queues/sync.ts';
import type { WorkerDeps } from './deps.ts';

export type SyncSchoolOutcome =
  'completed' | 'completed_with_errors' | 'held' | 'skipped' | 'already_done';

const FINAL = new Set(['completed', 'completed_with_errors', 'failed', 'skipped']);

/**
 * One high school's night, in one transaction: count, hold if the night is far larger than usual,
 * else copy the unknowns onto the high school's records and write the run report. Running twice is
 * harmless: the run row is locked and checked first, and the copy never overwrites or doubles.
 */
export async function syncSchool(deps: WorkerDeps, job: SyncSchoolJob): Promise<SyncSchoolOutcome> {
  const { runId, highSchoolId, date } = job;
  return deps.db.transaction().execute(async (trx) => {
    const row = await lockRunSchool(trx, runId, highSchoolId);
    if (!row || FINAL.has(row.status)) return 'already_done';
    if (row.status === 'held' && !job.released) return 'held';
    const now = deps.clock.now();
    const school = await getSchool(trx, highSchoolId);
    if (!school?.attendance_sync) {
      await finishRunSchool(trx, runId, highSchoolId, {
        status: 'skipped',
        detail: 'the high school turned the attendance sync off',
        now,
      });
      return 'skipped';
    }
    // Two runs for the same school and day (a backfill beside the nightly) take turns.
    await lockKey(trx, `sync:${highSchoolId}:${date}`);
    const counts = await countSync(trx, highSchoolId, date);
    const base = { candidates: counts.candidates, errors: counts.unmapped, now };
    const policy = {
      minimum: deps.config.KTS_SYNC_HOLD_MIN,
      factor: deps.config.KTS_SYNC_HOLD_FACTOR,
    };
    if (
      !row.released &&
      shouldHold(counts.wouldCreate, await recentCreated(trx, highSchoolId), policy)
    ) {
      await finishRunSchool(trx, runId, highSchoolId, {
        ...base,
        status: 'held',
        alreadyPresent: counts.candidates - counts.wouldCreate,
        detail: `held: would create ${counts.wouldCreate} unknowns, far more than usual; the state office releases it`,
      });
      deps.log.warn(
        { runId, highSchoolId, date, wouldCreate: counts.wouldCreate },
        'sync held for review',
      );
      return 'held';
    }
    const created = await copyUnknowns(trx, highSchoolId, date, runId, now);
    // The history of each student: one row per record the sync created, in one statement.
    await sql`
      insert into history (student_id, at, actor_school_id, actor_credential_id, actor_job, event_id, record, action, before, after, disclosed_to)
      select h.student_id, ${now}::timestamptz, null, null, 'nightly-sync', null, 'unknown', 'synced', null,
             jsonb_build_object('date', h.date, 'period', h.period, 'status', h.status, 'excuse', h.excuse,
                                'techSchoolId', h.tech_school_id, 'ktsCourseNumber', h.kts_course_number, 'runId', h.sync_run_id),
             ${highSchoolId}
      from hs_attendance h
      where h.sync_run_id = ${runId}::uuid and h.home_school_id = ${highSchoolId} and h.date = ${date}::date`.execute(
      trx,
    );
    const status = counts.unmapped > 0 ? 'completed_with_errors' : 'completed';
    await finishRunSchool(trx, runId, highSchoolId, {
      ...base,
      status,
      created,
      alreadyPresent: counts.candidates - created,
      detail:
        counts.unmapped > 0
          ? `${counts.unmapped} unknown entries have no roster span to map onto high-school periods`
          : null,
    });
    return status;
  });
}

/**
 * A manual run done in this process, school after school, without the queue: the backfill CLI and
 * the benchmark. Same plan and same per-school apply as the workers.
 */
export async function syncNow(
  deps: WorkerDeps,
  req: { date?: string; highSchoolId?: string; by: string },
): Promise<string> {
  const runId = await planManualRun(
    { db: deps.db, clock: deps.clock, log: deps.log, queue: null },
    req,
    { enqueue: false },
  );
  for (const s of await runSchoolsToEnqueue(deps.db, runId)) {
    await syncSchool(deps, { runId, highSchoolId: s.high_school_id, date: s.date });
  }
  return runId;
}

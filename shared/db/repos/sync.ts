import { sql, type Transaction } from 'kysely';
import type { Executor } from '../client.ts';
import type { DB, SyncSchoolStatus } from '../schema.ts';

export const optedInHighSchools = (db: Executor, timezone?: string) => {
  let q = db
    .selectFrom('schools')
    .select(['id', 'timezone'])
    .where('kind', '=', 'high_school')
    .where('attendance_sync', '=', true);
  if (timezone) q = q.where('timezone', '=', timezone);
  return q.orderBy('id').execute();
};

/** The zones that need a nightly scheduler: those of the high schools that opted in. */
export const syncTimeZones = async (db: Executor) =>
  (
    await db
      .selectFrom('schools')
      .select('timezone')
      .distinct()
      .where('kind', '=', 'high_school')
      .where('attendance_sync', '=', true)
      .execute()
  ).map((r) => r.timezone);

export async function createRun(
  trx: Transaction<DB>,
  r: {
    kind: 'scheduled' | 'manual';
    scheduleKey: string | null;
    date: string | null;
    schoolId: string | null;
    by: string | null;
    now: Date;
  },
): Promise<{ id: string; existed: boolean }> {
  const inserted = await trx
    .insertInto('sync_runs')
    .values({
      kind: r.kind,
      schedule_key: r.scheduleKey,
      requested_date: r.date,
      requested_school_id: r.schoolId,
      requested_by: r.by,
      created_at: r.now,
    })
    .onConflict((oc) => oc.column('schedule_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return { id: inserted.id, existed: false };
  const existing = await trx
    .selectFrom('sync_runs')
    .select('id')
    .where('schedule_key', '=', r.scheduleKey)
    .executeTakeFirstOrThrow();
  return { id: existing.id, existed: true };
}

/** Claim the once-a-night key for each (school, date); returns the schools this run got. */
export async function claimNights(
  trx: Transaction<DB>,
  runId: string,
  nights: readonly { highSchoolId: string; date: string }[],
): Promise<Set<string>> {
  if (nights.length === 0) return new Set();
  const r = await sql<{ high_school_id: string }>`
    insert into sync_nights (high_school_id, date, run_id)
    select n.h, n.d::date, ${runId}::uuid from unnest(${nights.map((n) => n.highSchoolId)}::text[], ${nights.map((n) => n.date)}::text[]) as n(h, d)
    on conflict do nothing
    returning high_school_id`.execute(trx);
  return new Set(r.rows.map((x) => x.high_school_id));
}

export async function addRunSchools(
  trx: Transaction<DB>,
  runId: string,
  rows: readonly {
    highSchoolId: string;
    date: string;
    status: SyncSchoolStatus;
    detail?: string | null;
  }[],
  now: Date,
): Promise<void> {
  if (rows.length === 0) return;
  await trx
    .insertInto('sync_run_schools')
    .values(
      rows.map((r) => ({
        run_id: runId,
        high_school_id: r.highSchoolId,
        date: r.date,
        status: r.status,
        detail: r.detail ?? null,
        finished_at: r.status === 'skipped' ? now : null,
      })),
    )
    .onConflict((oc) => oc.columns(['run_id', 'high_school_id']).doNothing())
    .execute();
}

export const runSchoolsToEnqueue = (db: Executor, runId: string) =>
  db
    .selectFrom('sync_run_schools')
    .select(['high_school_id', 'date', 'released'])
    .where('run_id', '=', runId)
    .where('status', 'in', ['pending', 'running'])
    .execute();

export const lockRunSchool = (trx: Transaction<DB>, runId: string, highSchoolId: string) =>
  trx
    .selectFrom('sync_run_schools')
    .selectAll()
    .where('run_id', '=', runId)
    .where('high_school_id', '=', highSchoolId)
    .forUpdate()
    .executeTakeFirst();

export async function finishRunSchool(
  db: Executor,
  runId: string,
  highSchoolId: string,
  f: {
    status: SyncSchoolStatus;
    candidates?: number;
    created?: number;
    alreadyPresent?: number;
    errors?: number;
    detail?: string | null;
    now: Date;
  },
): Promise<void> {
  await db
    .updateTable('sync_run_schools')
    .set({
      status: f.status,
      candidates: f.candidates ?? 0,
      created: f.created ?? 0,
      already_present: f.alreadyPresent ?? 0,
      errors: f.errors ?? 0,
      detail: f.detail ?? null,
      finished_at: f.status === 'held' ? null : f.now,
    })
    .where('run_id', '=', runId)
    .where('high_school_id', '=', highSchoolId)
    .execute();
}

/** What the school's recent nights created: the "usual" the safety hold compares against. */
export const recentCreated = async (db: Executor, highSchoolId: string, n = 10) =>
  (
    await db
      .selectFrom('sync_run_schools')
      .select('created')
      .where('high_school_id', '=', highSchoolId)
      .where('status', 'in', ['completed', 'completed_with_errors'])
      .orderBy('finished_at', 'desc')
      .limit(n)
      .execute()
  ).map((r) => r.created);

export interface SyncCounts {
  candidates: number;
  wouldCreate: number;
  unmapped: number;
}

/**
 * One school and day, counted before anything is written: every tech entry of the day that is not
 * `present` and still `unknown`, once per high-school period the student spends at the center.
 * `unmapped` counts entries with no roster span to map onto periods (reported as errors).
 */
export async function countSync(
  db: Executor,
  highSchoolId: string,
  date: string,
): Promise<SyncCounts> {
  const r = await sql<{ candidates: number; would_create: number; unmapped: number }>`
    with unknowns as (
      select a.student_id, a.kts_course_number, a.school_year, a.date
      from attendance a join students s on s.id = a.student_id
      where s.home_school_id = ${highSchoolId} and a.date = ${date}::date and a.status <> 'present' and a.excuse = 'unknown'
    ), cand as (
      select u.student_id, p.period
      from unknowns u
      join roster_spans r on r.student_id = u.student_id and r.kts_course_number = u.kts_course_number
        and r.school_year = u.school_year and r.start_date <= u.date and (r.end_date is null or r.end_date >= u.date)
      cross join lateral unnest(r.hs_periods) as p(period)
    )
    select (select count(*)::int from cand) as candidates,
           (select count(*)::int from (select distinct c.student_id, c.period from cand c
              where not exists (select 1 from hs_attendance h where h.student_id = c.student_id and h.date = ${date}::date and h.period = c.period)) x) as would_create,
           (select count(*)::int from unknowns u where not exists (
              select 1 from roster_spans r where r.student_id = u.student_id and r.kts_course_number = u.kts_course_number
                and r.school_year = u.school_year and r.start_date <= u.date and (r.end_date is null or r.end_date >= u.date)
                and cardinality(r.hs_periods) > 0)) as unmapped`.execute(db);
  const row = r.rows[0]!;
  return { candidates: row.candidates, wouldCreate: row.would_create, unmapped: row.unmapped };
}

/**
 * Copy the day's unknowns onto the high school's records in one statement. A record that already
 * exists (synced before, or coded by the high school) is left alone: never overwritten, never doubled.
 */
export async function copyUnknowns(
  trx: Transaction<DB>,
  highSchoolId: string,
  date: string,
  runId: string,
  now: Date,
): Promise<number> {
  const r = await sql<{ n: number }>`
    with ins as (
      insert into hs_attendance (student_id, date, period, home_school_id, status, excuse, source, tech_school_id,
                                 kts_course_number, synced_at, sync_run_id)
      select a.student_id, a.date, p.period, ${highSchoolId}, a.status, 'unknown', 'sync', a.tech_school_id,
             a.kts_course_number, ${now}::timestamptz, ${runId}::uuid
      from attendance a
      join students s on s.id = a.student_id
      join roster_spans r on r.student_id = a.student_id and r.kts_course_number = a.kts_course_number
        and r.school_year = a.school_year and r.start_date <= a.date and (r.end_date is null or r.end_date >= a.date)
      cross join lateral unnest(r.hs_periods) as p(period)
      where s.home_school_id = ${highSchoolId} and a.date = ${date}::date and a.status <> 'present' and a.excuse = 'unknown'
      on conflict (student_id, date, period) do nothing
      returning student_id
    )
    select count(*)::int as n from ins`.execute(trx);
  return r.rows[0]!.n;
}

export async function getRun(db: Executor, runId: string) {
  const run = await db
    .selectFrom('sync_runs')
    .selectAll()
    .where('id', '=', runId)
    .executeTakeFirst();
  if (!run) return undefined;
  const schools = await db
    .selectFrom('sync_run_schools')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('high_school_id')
    .execute();
  return { run, schools };
}

/** A run's status from its schools': the worst outcome that is final, or running/held while any is. */
export function runStatus(
  statuses: readonly SyncSchoolStatus[],
): 'running' | 'completed' | 'completed_with_errors' | 'failed' | 'held' {
  if (statuses.some((s) => s === 'pending' || s === 'running')) return 'running';
  if (statuses.some((s) => s === 'held')) return 'held';
  const done = statuses.filter((s) => s !== 'skipped');
  if (done.length > 0 && done.every((s) => s === 'failed')) return 'failed';
  if (done.some((s) => s === 'failed' || s === 'completed_with_errors'))
    return 'completed_with_errors';
  return 'completed';
}

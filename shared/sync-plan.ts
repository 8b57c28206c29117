import type { Queue } from 'bullmq';
import type { Clock } from './clock.ts';
import type { Db } from './db/client.ts';
import type { Logger } from './logger.ts';
import { ApiError } from './errors.ts';
import { calendarForDate, toCalendarDays } from './db/repos/calendars.ts';
import { getSchool } from './db/repos/schools.ts';
import {
  addRunSchools,
  claimNights,
  createRun,
  optedInHighSchools,
  runSchoolsToEnqueue,
} from './db/repos/sync.ts';
import { coveredDate, latestInstructionalDayBefore } from './domain/sync.ts';
import { isInstructionalDay, localDate } from './domain/dates.ts';
import { schoolJobId, syncQueue } from './queues/sync.ts';
import type { SyncSchoolStatus } from './db/schema.ts';

export interface SyncPlanDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  /** null when the caller applies the schools itself (the CLI). */
  queue: Queue | null;
}

interface Planned {
  highSchoolId: string;
  date: string;
  status: SyncSchoolStatus;
  detail?: string;
}

async function planSchool(db: Db, highSchoolId: string, date: string): Promise<Planned> {
  const { calendar } = await calendarForDate(db, highSchoolId, date);
  if (!isInstructionalDay(calendar ? toCalendarDays(calendar) : undefined, date)) {
    return {
      highSchoolId,
      date,
      status: 'skipped',
      detail: `${date} is not an instructional day in ${highSchoolId}'s calendar`,
    };
  }
  return { highSchoolId, date, status: 'pending' };
}

/** One child job per school still to do; job ids make a re-plan (a retried nightly job) a no-op. */
export async function enqueueRunSchools(deps: SyncPlanDeps, runId: string): Promise<number> {
  const rows = await runSchoolsToEnqueue(deps.db, runId);
  if (rows.length === 0) return 0;
  if (!deps.queue) throw new Error('no sync queue to enqueue the run on');
  await deps.queue.addBulk(
    rows.map((r) => ({
      name: syncQueue.jobs.school,
      data: {
        runId,
        highSchoolId: r.high_school_id,
        date: r.date,
        ...(r.released ? { released: true } : {}),
      },
      opts: {
        ...syncQueue.defaultJobOptions,
        jobId: schoolJobId(runId, r.high_school_id, r.released ? 1 : 0),
      },
    })),
  );
  return rows.length;
}

/**
 * The scheduled night in one time zone: one run per zone and night (schedule key), and within it
 * one claim per (high school, covered date), so however many nightly jobs fire, a school is synced
 * once. Safe to run again after a crash: it finds its run and re-enqueues what is left.
 */
export async function planScheduledRun(
  deps: SyncPlanDeps,
  timezone: string,
  fireAt: Date,
): Promise<{ runId: string; schools: number }> {
  const date = coveredDate(fireAt, timezone);
  const planned = await Promise.all(
    (await optedInHighSchools(deps.db, timezone)).map((s) => planSchool(deps.db, s.id, date)),
  );
  const now = deps.clock.now();
  const runId = await deps.db.transaction().execute(async (trx) => {
    const run = await createRun(trx, {
      kind: 'scheduled',
      scheduleKey: `${timezone}@${localDate(fireAt, timezone)}`,
      date,
      schoolId: null,
      by: 'scheduler',
      now,
    });
    if (run.existed) return run.id;
    const claimed = await claimNights(
      trx,
      run.id,
      planned.filter((p) => p.status === 'pending'),
    );
    await addRunSchools(
      trx,
      run.id,
      planned.filter((p) => p.status === 'skipped' || claimed.has(p.highSchoolId)),
      now,
    );
    return run.id;
  });
  const n = await enqueueRunSchools(deps, runId);
  deps.log.info({ runId, timezone, date, schools: n }, 'nightly sync planned');
  return { runId, schools: n };
}

/**
 * A run asked for by the state office (or the CLI): every call is a new run. A backfill of a past
 * day is allowed; a future date, or a school that did not opt in, is refused. With no date, each
 * school's latest instructional day before its today.
 */
export async function planManualRun(
  deps: SyncPlanDeps,
  req: { date?: string; highSchoolId?: string; by: string | null },
  opts: { enqueue: boolean } = { enqueue: true },
): Promise<string> {
  let schools: { id: string; timezone: string }[];
  if (req.highSchoolId) {
    const s = await getSchool(deps.db, req.highSchoolId);
    if (!s || s.kind !== 'high_school')
      throw new ApiError('unprocessable', `${req.highSchoolId} is not a registered high school.`);
    if (!s.attendance_sync)
      throw new ApiError(
        'unprocessable',
        `${req.highSchoolId} has not opted into the attendance sync (attendanceSync is false).`,
      );
    schools = [{ id: s.id, timezone: s.timezone }];
  } else {
    schools = await optedInHighSchools(deps.db);
  }
  const now = deps.clock.now();
  if (req.date) {
    const future = schools.find((s) => req.date! > localDate(now, s.timezone));
    if (future)
      throw new ApiError(
        'unprocessable',
        `${req.date} is in the future for ${future.id}; the sync copies days that have happened.`,
      );
  }
  const planned: Planned[] = [];
  for (const s of schools) {
    if (req.date) {
      planned.push(await planSchool(deps.db, s.id, req.date));
      continue;
    }
    const today = localDate(now, s.timezone);
    const { calendar } = await calendarForDate(deps.db, s.id, today);
    const d = latestInstructionalDayBefore(calendar ? toCalendarDays(calendar) : undefined, today);
    planned.push(
      d
        ? { highSchoolId: s.id, date: d, status: 'pending' }
        : {
            highSchoolId: s.id,
            date: today,
            status: 'skipped',
            detail: 'no instructional day before today this school year',
          },
    );
  }
  const runId = await deps.db.transaction().execute(async (trx) => {
    const run = await createRun(trx, {
      kind: 'manual',
      scheduleKey: null,
      date: req.date ?? null,
      schoolId: req.highSchoolId ?? null,
      by: req.by,
      now,
    });
    await addRunSchools(trx, run.id, planned, now);
    return run.id;
  });
  // The CLI runs the schools itself (no workers needed); everyone else hands them to the workers.
  if (opts.enqueue) await enqueueRunSchools(deps, runId);
  deps.log.info(
    { runId, date: req.date, highSchoolId: req.highSchoolId, schools: planned.length },
    'manual sync planned',
  );
  return runId;
}

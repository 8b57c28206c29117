import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sql } from 'kysely';
import { createDb, type Db } from '../shared/db/client.ts';
import { migrateToLatest } from '../shared/db/migrate.ts';
import { loadConfig } from '../shared/config.ts';
import { fixedClock } from '../shared/clock.ts';
import { createLogger } from '../shared/logger.ts';
import { getRun } from '../shared/db/repos/sync.ts';
import { upsertAttendance } from '../shared/db/repos/attendance.ts';
import { syncNow } from '../workers/sync-school.ts';

/**
 * `npm run bench`: measured side by side in one run, on a private database (kts_bench, dropped and
 * recreated). Figures are ratios against a baseline measured the same minute on the same machine,
 * so a slower or busier machine changes the rates but not the comparison.
 *
 * 1. The attendance write path: one set-based statement per event (what the workers do) against
 *    one statement per record (the naive way), same rows, same version guard.
 * 2. The nightly sync for a state-size data set: ~60,000 tech students, 50 centers, 230 high
 *    schools, every high school opted in; the whole night, school after school.
 */

const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/kts';
const NAME = 'kts_bench';
const url = (db: string) => Object.assign(new URL(base), { pathname: `/${db}` }).toString();

async function freshDatabase(): Promise<Db> {
  const admin = new pg.Client({ connectionString: url('postgres') });
  await admin.connect();
  await admin.query(`drop database if exists ${NAME} with (force)`);
  await admin.query(`create database ${NAME}`);
  await admin.end();
  const db = createDb({ connectionString: url(NAME), max: 4, applicationName: 'kts-bench' });
  await migrateToLatest(db);
  return db;
}

const DATE = '2027-01-19';
const YEAR = '2026-2027';
const NOW = new Date('2027-01-20T06:30:00Z'); // 01:30 in Kentucky's eastern zone, the night after

/** The state: schools, calendars, sections, students, roster spans and one day of attendance, in SQL. */
async function seedState(
  db: Db,
  o: { centers: number; highSchools: number; students: number; unknownShare: number },
) {
  await sql`insert into schools (id, name, kind, district_id, timezone, attendance_sync, created_at, updated_at)
    select 'ATC' || i, 'Area Technology Center ' || i, case when i % 5 = 0 then 'ctc' else 'atc' end, 'D' || i,
           case when i % 4 = 0 then 'America/Chicago' else 'America/New_York' end, false, now(), now()
    from generate_series(1, ${o.centers}) i
    union all
    select 'HS' || i, 'High School ' || i, 'high_school', 'D' || (i % 115), 'America/New_York', true, now(), now()
    from generate_series(1, ${o.highSchools}) i`.execute(db);
  await sql`insert into calendars (school_id, school_year, first_day, last_day, non_instructional_days, periods, updated_at)
    select id, ${YEAR}, '2026-08-12', '2027-05-28', '["2027-01-18"]', '[]', now() from schools`.execute(
    db,
  );
  // Four sections per center.
  await sql`insert into sections (school_year, kts_course_number, tech_school_id, course_code, title, credits, term, updated_at)
    select ${YEAR}, 'ATC' || c || '-S' || s, 'ATC' || c, '480101', 'Section ' || s, 1, 'year', now()
    from generate_series(1, ${o.centers}) c, generate_series(1, 4) s`.execute(db);
  await sql`insert into students (id, home_school_id, first_name, last_name, grade_level, updated_at)
    select lpad(i::text, 10, '0'), 'HS' || (1 + i % ${o.highSchools}), 'F' || i, 'L' || i, 9 + i % 4, now()
    from generate_series(1, ${o.students}) i`.execute(db);
  await sql`insert into roster_spans (school_year, kts_course_number, student_id, start_date, end_date, hs_periods, tech_school_id, home_school_id)
    select ${YEAR}, 'ATC' || (1 + i % ${o.centers}) || '-S' || (1 + (i / ${o.centers}) % 4), lpad(i::text, 10, '0'),
           '2026-08-12', null, case when i % 2 = 0 then array[1,2,3] else array[5,6,7] end,
           'ATC' || (1 + i % ${o.centers}), 'HS' || (1 + i % ${o.highSchools})
    from generate_series(1, ${o.students}) i`.execute(db);
  // One day of attendance: a share absent or tardy and not yet coded, the rest present.
  await sql`insert into attendance (student_id, kts_course_number, date, school_year, tech_school_id, status, excuse, code,
                                    minutes_absent, occurred_at, event_id, event_seq, credential_id, applied_at)
    select r.student_id, r.kts_course_number, ${DATE}::date, ${YEAR}, r.tech_school_id,
           case when random() < ${o.unknownShare} then (case when random() < 0.7 then 'absent' else 'tardy' end) else 'present' end,
           null, null, null, '2027-01-19T14:10:00Z', 'bench', 1, null, now()
    from roster_spans r`.execute(db);
  await sql`update attendance set excuse = 'unknown' where status <> 'present'`.execute(db);
  await sql`analyze`.execute(db);
}

async function benchSync(db: Db) {
  const students = 60_000;
  const t0 = performance.now();
  await seedState(db, { centers: 50, highSchools: 230, students, unknownShare: 0.1 });
  const seeded = performance.now() - t0;
  const config = loadConfig({
    KTS_ADMIN_TOKEN: 'bench-token-not-used-0123456789',
    LOG_LEVEL: 'silent',
    DATABASE_URL: url(NAME),
  });
  const log = createLogger('silent');
  const clock = fixedClock(NOW);
  const t1 = performance.now();
  const runId = await syncNow({ config, db, clock, log }, { date: DATE, by: 'bench' });
  const ms = performance.now() - t1;
  const run = (await getRun(db, runId))!;
  const created = run.schools.reduce((a, s) => a + s.created, 0);
  const held = run.schools.filter((s) => s.status === 'held').length;
  // A second night over the same day: everything is already present, nothing is written.
  const t2 = performance.now();
  const rerun = await syncNow({ config, db, clock, log }, { date: DATE, by: 'bench' });
  const rerunMs = performance.now() - t2;
  const again = (await getRun(db, rerun))!.schools.reduce((a, s) => a + s.created, 0);
  console.log(
    `\nnightly sync, state size (${students} tech students, 50 centers, 230 high schools opted in; seeded in ${(seeded / 1000).toFixed(1)} s)`,
  );
  console.log(
    `  whole night: ${(ms / 1000).toFixed(2)} s for ${run.schools.length} schools, ${created} unknowns created (${held} schools held)`,
  );
  console.log(
    `  per school: ${(ms / run.schools.length).toFixed(1)} ms; re-run of the same night: ${(rerunMs / 1000).toFixed(2)} s, ${again} created`,
  );
}

async function benchAttendanceWrites(db: Db) {
  // 200 events of 500 records = 100,000 rows, written both ways into fresh keys.
  const events = 200;
  const per = 500;
  const batch = (e: number) =>
    Array.from({ length: per }, (_, i) => ({
      studentId: String(e * per + i).padStart(10, '0'),
      status: 'absent' as const,
      excuse: 'unknown' as const,
      code: null,
      minutesAbsent: null,
    }));
  const write = (kts: string, e: number) =>
    db.transaction().execute((trx) =>
      upsertAttendance(trx, {
        ktsCourseNumber: kts,
        date: '2027-01-21',
        schoolYear: YEAR,
        techSchoolId: 'ATC1',
        occurredAt: '2027-01-21T14:00:00.000Z',
        eventId: `bench-${e}`,
        eventSeq: e,
        credentialId: null,
        appliedAt: NOW,
        rows: batch(e),
      }),
    );
  const t0 = performance.now();
  for (let e = 0; e < events; e++) await write('BENCH-SET', e);
  const setMs = performance.now() - t0;
  // The naive way: the same statement with one row, once per record, in the event's transaction.
  const naiveEvents = 20;
  const t1 = performance.now();
  for (let e = 0; e < naiveEvents; e++) {
    await db.transaction().execute(async (trx) => {
      for (const row of batch(e)) {
        await upsertAttendance(trx, {
          ktsCourseNumber: 'BENCH-ROW',
          date: '2027-01-21',
          schoolYear: YEAR,
          techSchoolId: 'ATC1',
          occurredAt: '2027-01-21T14:00:00.000Z',
          eventId: `bench-${e}`,
          eventSeq: e,
          credentialId: null,
          appliedAt: NOW,
          rows: [row],
        });
      }
    });
  }
  const rowMs = performance.now() - t1;
  const setRate = (events * per) / (setMs / 1000);
  const rowRate = (naiveEvents * per) / (rowMs / 1000);
  console.log(`\nattendance writes (500-record events, version-guarded upsert)`);
  console.log(
    `  one statement per event:  ${Math.round(setRate).toLocaleString('en-US')} records/s`,
  );
  console.log(
    `  one statement per record: ${Math.round(rowRate).toLocaleString('en-US')} records/s`,
  );
  console.log(`  ratio set-based / per-record: ${(setRate / rowRate).toFixed(1)}x`);
}

const db = await freshDatabase();
try {
  await benchSync(db);
  await benchAttendanceWrites(db);
} finally {
  await db.destroy();
}

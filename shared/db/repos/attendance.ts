import { sql, type Transaction } from 'kysely';
import type { Executor } from '../client.ts';
import type { AttendanceTable, DB } from '../schema.ts';

export interface AttendanceRow {
  studentId: string;
  status: AttendanceTable['status'];
  excuse: AttendanceTable['excuse'];
  code: string | null;
  minutesAbsent: number | null;
}

export interface AttendanceBatch {
  ktsCourseNumber: string;
  date: string;
  schoolYear: string;
  techSchoolId: string;
  occurredAt: string;
  eventId: string;
  eventSeq: number;
  credentialId: string | null;
  appliedAt: Date;
  rows: readonly AttendanceRow[];
}

const stateColumns = [
  'student_id',
  'status',
  'excuse',
  'code',
  'minutes_absent',
  'occurred_at',
  'event_id',
] as const;

/** The current rows for some students of one section and day (the history's "before"). */
export const currentAttendance = (
  trx: Transaction<DB>,
  kts: string,
  date: string,
  studentIds: readonly string[],
) =>
  trx
    .selectFrom('attendance')
    .select(stateColumns)
    .where('kts_course_number', '=', kts)
    .where('date', '=', date)
    .where(sql<boolean>`student_id = any(${studentIds as string[]}::text[])`)
    .execute();

/**
 * Upsert a whole event's records in one statement (unnest arrays: reference-figures.md measured a
 * 30x gap against a statement per record). A row changes only when this event is later than the one
 * in force: (occurredAt, eventId) compared as a tuple, eventId bytewise. Returns the rows it wrote.
 */
export async function upsertAttendance(trx: Transaction<DB>, b: AttendanceBatch) {
  if (b.rows.length === 0) return [];
  const r = await sql<{ student_id: string }>`
    insert into attendance (student_id, kts_course_number, date, school_year, tech_school_id, status, excuse, code,
                            minutes_absent, occurred_at, event_id, event_seq, credential_id, applied_at)
    select u.student_id, ${b.ktsCourseNumber}, ${b.date}::date, ${b.schoolYear}, ${b.techSchoolId}, u.status, u.excuse,
           u.code, u.minutes_absent, ${b.occurredAt}::timestamptz, ${b.eventId}, ${b.eventSeq}::bigint,
           ${b.credentialId}::uuid, ${b.appliedAt}::timestamptz
    from unnest(${b.rows.map((x) => x.studentId)}::text[], ${b.rows.map((x) => x.status)}::text[],
                ${b.rows.map((x) => x.excuse)}::text[], ${b.rows.map((x) => x.code)}::text[],
                ${b.rows.map((x) => x.minutesAbsent)}::int[]) as u(student_id, status, excuse, code, minutes_absent)
    on conflict (student_id, kts_course_number, date) do update set
      school_year = excluded.school_year, tech_school_id = excluded.tech_school_id, status = excluded.status,
      excuse = excluded.excuse, code = excluded.code, minutes_absent = excluded.minutes_absent,
      occurred_at = excluded.occurred_at, event_id = excluded.event_id, event_seq = excluded.event_seq,
      credential_id = excluded.credential_id, applied_at = excluded.applied_at
    where (attendance.occurred_at, attendance.event_id) < (excluded.occurred_at, excluded.event_id)
    returning student_id`.execute(trx);
  return r.rows.map((x) => x.student_id);
}

/**
 * The high school's real-time report for one day: its own students' tech-center entries in their
 * current state, with the periods each student spends at the center and who recorded the entry.
 */
export function highSchoolReport(db: Executor, highSchoolId: string, date: string) {
  return db
    .selectFrom('attendance as a')
    .innerJoin('students as s', 's.id', 'a.student_id')
    .leftJoin('roster_spans as r', (j) =>
      j
        .onRef('r.student_id', '=', 'a.student_id')
        .onRef('r.kts_course_number', '=', 'a.kts_course_number')
        .onRef('r.school_year', '=', 'a.school_year')
        .onRef('r.start_date', '<=', 'a.date')
        .on((eb) =>
          eb.or([eb('r.end_date', 'is', null), eb('r.end_date', '>=', eb.ref('a.date'))]),
        ),
    )
    .select([
      'a.student_id',
      'a.tech_school_id',
      'a.kts_course_number',
      'r.hs_periods',
      'a.status',
      'a.excuse',
      'a.code',
      'a.minutes_absent',
      'a.occurred_at',
      'a.applied_at',
      'a.event_id',
      'a.credential_id',
    ])
    .where('s.home_school_id', '=', highSchoolId)
    .where('a.date', '=', date)
    .orderBy(sql`a.kts_course_number collate "C"`)
    .orderBy('a.student_id')
    .execute();
}

import { sql, type Transaction } from 'kysely';
import type { Executor } from '../client.ts';
import type { DB } from '../schema.ts';
import type { RosterSpan } from '../../domain/roster.ts';
import type { Span } from '../../domain/rejections.ts';

export interface ActionInput {
  schoolYear: string;
  ktsCourseNumber: string;
  studentId: string;
  effectiveDate: string;
  action: 'add' | 'drop';
  hsPeriods: number[];
  homeSchoolId: string;
  occurredAt: string;
  eventId: string;
  eventSeq: number;
}

/**
 * Store an add or drop under its natural key (student, section, year, effective date). The latest
 * `occurredAt` wins, ties by `eventId` bytewise (both columns are `collate "C"`); returns false when
 * a later action already holds the key.
 */
export async function upsertEnrollmentAction(
  trx: Transaction<DB>,
  a: ActionInput,
): Promise<boolean> {
  const r = await trx
    .insertInto('enrollment_actions')
    .values({
      school_year: a.schoolYear,
      kts_course_number: a.ktsCourseNumber,
      student_id: a.studentId,
      effective_date: a.effectiveDate,
      action: a.action,
      hs_periods: a.hsPeriods,
      home_school_id: a.homeSchoolId,
      occurred_at: a.occurredAt,
      event_id: a.eventId,
      event_seq: a.eventSeq,
    })
    .onConflict((oc) =>
      oc
        .columns(['school_year', 'kts_course_number', 'student_id', 'effective_date'])
        .doUpdateSet((eb) => ({
          action: eb.ref('excluded.action'),
          hs_periods: eb.ref('excluded.hs_periods'),
          home_school_id: eb.ref('excluded.home_school_id'),
          occurred_at: eb.ref('excluded.occurred_at'),
          event_id: eb.ref('excluded.event_id'),
          event_seq: eb.ref('excluded.event_seq'),
        }))
        .where(
          sql<boolean>`(enrollment_actions.occurred_at, enrollment_actions.event_id) < (excluded.occurred_at, excluded.event_id)`,
        ),
    )
    .returning('event_seq')
    .executeTakeFirst();
  return r !== undefined;
}

export const actionsFor = (db: Executor, schoolYear: string, kts: string, studentId: string) =>
  db
    .selectFrom('enrollment_actions')
    .select(['effective_date as effectiveDate', 'action', 'hs_periods as hsPeriods'])
    .where('school_year', '=', schoolYear)
    .where('kts_course_number', '=', kts)
    .where('student_id', '=', studentId)
    .execute();

export const spansOf = (db: Executor, schoolYear: string, kts: string, studentId: string) =>
  db
    .selectFrom('roster_spans')
    .select(['start_date as startDate', 'end_date as endDate', 'hs_periods as hsPeriods'])
    .where('school_year', '=', schoolYear)
    .where('kts_course_number', '=', kts)
    .where('student_id', '=', studentId)
    .orderBy('start_date')
    .execute();

export async function replaceSpans(
  trx: Transaction<DB>,
  key: {
    schoolYear: string;
    ktsCourseNumber: string;
    studentId: string;
    techSchoolId: string;
    homeSchoolId: string;
  },
  spans: readonly RosterSpan[],
): Promise<void> {
  await trx
    .deleteFrom('roster_spans')
    .where('school_year', '=', key.schoolYear)
    .where('kts_course_number', '=', key.ktsCourseNumber)
    .where('student_id', '=', key.studentId)
    .execute();
  if (spans.length === 0) return;
  await trx
    .insertInto('roster_spans')
    .values(
      spans.map((s) => ({
        school_year: key.schoolYear,
        kts_course_number: key.ktsCourseNumber,
        student_id: key.studentId,
        start_date: s.startDate,
        end_date: s.endDate,
        hs_periods: s.hsPeriods,
        tech_school_id: key.techSchoolId,
        home_school_id: key.homeSchoolId,
      })),
    )
    .execute();
}

/** Spans of many students in one section and year, in one statement. */
export async function spansForStudents(
  db: Executor,
  schoolYear: string,
  kts: string,
  studentIds: readonly string[],
): Promise<Map<string, Span[]>> {
  const rows = await db
    .selectFrom('roster_spans')
    .select(['student_id', 'start_date', 'end_date'])
    .where('school_year', '=', schoolYear)
    .where('kts_course_number', '=', kts)
    .where(sql<boolean>`student_id = any(${studentIds as string[]}::text[])`)
    .orderBy('start_date')
    .execute();
  const map = new Map<string, Span[]>();
  for (const r of rows) {
    const list = map.get(r.student_id) ?? [];
    list.push({ startDate: r.start_date, endDate: r.end_date });
    map.set(r.student_id, list);
  }
  return map;
}

/** A section's roster with the names the center needs to take attendance; every span, or those open on asOf. */
export function rosterOf(db: Executor, schoolYear: string, kts: string, asOf?: string) {
  let q = db
    .selectFrom('roster_spans as r')
    .innerJoin('students as s', 's.id', 'r.student_id')
    .select([
      'r.student_id',
      's.first_name',
      's.last_name',
      's.grade_level',
      's.home_school_id',
      'r.hs_periods',
      'r.start_date',
      'r.end_date',
    ])
    .where('r.school_year', '=', schoolYear)
    .where('r.kts_course_number', '=', kts);
  if (asOf) {
    q = q
      .where('r.start_date', '<=', asOf)
      .where((eb) => eb.or([eb('r.end_date', 'is', null), eb('r.end_date', '>=', asOf)]));
  }
  return q
    .orderBy('s.last_name')
    .orderBy('s.first_name')
    .orderBy('r.student_id')
    .orderBy('r.start_date')
    .execute();
}

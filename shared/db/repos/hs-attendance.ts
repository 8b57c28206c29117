import { sql, type Transaction } from 'kysely';
import type { DB } from '../schema.ts';

export interface Coding {
  studentId: string;
  date: string;
  period: number;
  homeSchoolId: string;
  excuse: 'excused' | 'unexcused' | 'exempt';
  code: string;
  occurredAt: string;
  eventId: string;
  eventSeq: number;
  codedAt: Date;
}

export const hsRecord = (trx: Transaction<DB>, studentId: string, date: string, period: number) =>
  trx
    .selectFrom('hs_attendance')
    .select(['status', 'excuse', 'code', 'source', 'tech_school_id', 'kts_course_number'])
    .where('student_id', '=', studentId)
    .where('date', '=', date)
    .where('period', '=', period)
    .executeTakeFirst();

/**
 * The high-school office coded its own record for a period: resolves a synced unknown, or creates
 * the record when there is none. Among codings the later event wins.
 */
export async function applyCoding(trx: Transaction<DB>, c: Coding): Promise<boolean> {
  const r = await trx
    .insertInto('hs_attendance')
    .values({
      student_id: c.studentId,
      date: c.date,
      period: c.period,
      home_school_id: c.homeSchoolId,
      status: null,
      excuse: c.excuse,
      code: c.code,
      source: 'high_school',
      coded_at: c.codedAt,
      coded_occurred_at: c.occurredAt,
      coded_event_id: c.eventId,
      coded_event_seq: c.eventSeq,
    })
    .onConflict((oc) =>
      oc
        .columns(['student_id', 'date', 'period'])
        .doUpdateSet((eb) => ({
          excuse: eb.ref('excluded.excuse'),
          code: eb.ref('excluded.code'),
          coded_at: eb.ref('excluded.coded_at'),
          coded_occurred_at: eb.ref('excluded.coded_occurred_at'),
          coded_event_id: eb.ref('excluded.coded_event_id'),
          coded_event_seq: eb.ref('excluded.coded_event_seq'),
        }))
        .where(
          sql<boolean>`hs_attendance.coded_occurred_at is null
            or (hs_attendance.coded_occurred_at, hs_attendance.coded_event_id) < (excluded.coded_occurred_at, excluded.coded_event_id)`,
        ),
    )
    .returning('student_id')
    .executeTakeFirst();
  return r !== undefined;
}

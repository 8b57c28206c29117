import type { Transaction } from 'kysely';
import type { DB } from '../shared/db/schema.ts';
import type { AttendanceCoded } from '../shared/events.ts';
import { getSchool } from '../shared/db/repos/schools.ts';
import { getStudent } from '../shared/db/repos/students.ts';
import { calendarForDate, toCalendarDays } from '../shared/db/repos/calendars.ts';
import { lockKey } from '../shared/db/repos/locks.ts';
import { applyCoding, hsRecord } from '../shared/db/repos/hs-attendance.ts';
import { appendHistory } from '../shared/db/repos/history.ts';
import { isInstructionalDay, localDate } from '../shared/domain/dates.ts';
import { rejectionMessage as msg, type Rejection } from '../shared/domain/rejections.ts';
import type { ApplyInput } from './apply-input.ts';

/** The high-school office coded its own record for one period (resolving a synced unknown, if any). */
export async function applyAttendanceCoding(
  trx: Transaction<DB>,
  input: ApplyInput<AttendanceCoded>,
): Promise<Rejection[]> {
  const { event, body } = input;
  const reject = (code: Rejection['code'], message: string): Rejection[] => [
    { recordIndex: 0, studentId: body.studentId, code, message },
  ];
  const school = await getSchool(trx, event.school_id);
  if (!school) throw new Error(`producer school ${event.school_id} is not stored`);
  const student = await getStudent(trx, body.studentId);
  if (!student || student.home_school_id !== school.id)
    return reject('unknown_student', msg.unknownStudent(body.studentId));
  const { schoolYear, calendar } = await calendarForDate(trx, school.id, body.date);
  if (!isInstructionalDay(calendar ? toCalendarDays(calendar) : undefined, body.date)) {
    return reject(
      'not_instructional_day',
      msg.notInstructionalDay(body.date, schoolYear, "this high school's"),
    );
  }
  const today = localDate(input.now, school.timezone);
  if (body.date > today)
    return reject('future_date', msg.futureDate(body.date, today, "this high school's"));

  await lockKey(trx, `hs-attendance:${body.studentId}:${body.date}:${body.period}`);
  const before = await hsRecord(trx, body.studentId, body.date, body.period);
  const won = await applyCoding(trx, {
    studentId: body.studentId,
    date: body.date,
    period: body.period,
    homeSchoolId: school.id,
    excuse: body.excuse,
    code: body.code,
    occurredAt: body.occurredAt,
    eventId: body.eventId,
    eventSeq: event.seq,
    codedAt: input.now,
  });
  if (won) {
    await appendHistory(trx, input.actor, input.now, [
      {
        studentId: body.studentId,
        record: before?.source === 'sync' ? 'unknown' : 'attendance',
        action: before?.source === 'sync' ? 'resolved' : 'coded',
        eventId: body.eventId,
        before: before
          ? { date: body.date, period: body.period, excuse: before.excuse, code: before.code }
          : null,
        after: { date: body.date, period: body.period, excuse: body.excuse, code: body.code },
      },
    ]);
  }
  return [];
}

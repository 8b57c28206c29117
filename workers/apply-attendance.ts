import type { Transaction } from 'kysely';
import type { DB } from '../shared/db/schema.ts';
import type { AttendanceEntered } from '../shared/events.ts';
import { calendarForDate, toCalendarDays } from '../shared/db/repos/calendars.ts';
import { getSection } from '../shared/db/repos/sections.ts';
import { getSchool } from '../shared/db/repos/schools.ts';
import { hasApprovedWaiver } from '../shared/db/repos/waivers.ts';
import { spansForStudents } from '../shared/db/repos/rosters.ts';
import { lockKey } from '../shared/db/repos/locks.ts';
import {
  currentAttendance,
  upsertAttendance,
  type AttendanceRow,
} from '../shared/db/repos/attendance.ts';
import { appendHistory } from '../shared/db/repos/history.ts';
import { checkAttendanceRecord } from '../shared/domain/attendance-rules.ts';
import { localDate } from '../shared/domain/dates.ts';
import type { Rejection } from '../shared/domain/rejections.ts';
import type { ApplyInput } from './apply-input.ts';

/**
 * A center's attendance for one section and day. Each record is checked on its own; the accepted
 * ones are written in one statement and the rest become rejections the center can list.
 * A constant number of statements per event, whatever its size.
 */
export async function applyAttendance(
  trx: Transaction<DB>,
  input: ApplyInput<AttendanceEntered>,
): Promise<Rejection[]> {
  const { event, body } = input;
  const center = await getSchool(trx, event.school_id);
  if (!center) throw new Error(`producer school ${event.school_id} is not stored`);
  const { schoolYear, calendar } = await calendarForDate(trx, center.id, body.date);
  const section = await getSection(trx, schoolYear, body.ktsCourseNumber);
  const ids = body.records.map((r) => r.studentId);
  const ctx = {
    ktsCourseNumber: body.ktsCourseNumber,
    date: body.date,
    schoolYear,
    today: localDate(input.now, center.timezone),
    sectionKnown: section?.tech_school_id === center.id,
    techSchoolId: center.id,
    waived: center.kind === 'ctc' && (await hasApprovedWaiver(trx, center.id, schoolYear)),
    calendar: calendar ? toCalendarDays(calendar) : undefined,
    spans: await spansForStudents(trx, schoolYear, body.ktsCourseNumber, ids),
  };

  const rejections: Rejection[] = [];
  const accepted: AttendanceRow[] = [];
  body.records.forEach((r, i) => {
    const rejection = checkAttendanceRecord(ctx, r.studentId, i);
    if (rejection) rejections.push(rejection);
    else {
      accepted.push({
        studentId: r.studentId,
        status: r.status,
        excuse: r.excuse ?? null,
        code: r.code ?? null,
        minutesAbsent: r.minutesAbsent ?? null,
      });
    }
  });
  if (accepted.length === 0) return rejections;

  await lockKey(trx, `attendance:${body.ktsCourseNumber}:${body.date}`);
  const acceptedIds = accepted.map((a) => a.studentId);
  const before = new Map(
    (await currentAttendance(trx, body.ktsCourseNumber, body.date, acceptedIds)).map((r) => [
      r.student_id,
      r,
    ]),
  );
  const written = new Set(
    await upsertAttendance(trx, {
      ktsCourseNumber: body.ktsCourseNumber,
      date: body.date,
      schoolYear,
      techSchoolId: center.id,
      occurredAt: body.occurredAt,
      eventId: body.eventId,
      eventSeq: event.seq,
      credentialId: event.credential_id,
      appliedAt: input.now,
      rows: accepted,
    }),
  );
  const state = (r: {
    status: string;
    excuse: string | null;
    code: string | null;
    minutesAbsent: number | null;
  }) => ({
    ktsCourseNumber: body.ktsCourseNumber,
    date: body.date,
    status: r.status,
    excuse: r.excuse,
    code: r.code,
    minutesAbsent: r.minutesAbsent,
  });
  await appendHistory(
    trx,
    input.actor,
    input.now,
    accepted
      .filter((a) => written.has(a.studentId))
      .map((a) => {
        const old = before.get(a.studentId);
        return {
          studentId: a.studentId,
          record: 'attendance' as const,
          action: old ? 'update' : 'create',
          eventId: body.eventId,
          before: old ? state({ ...old, minutesAbsent: old.minutes_absent }) : null,
          after: state(a),
        };
      }),
  );
  return rejections;
}

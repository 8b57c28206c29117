import { isInstructionalDay, type CalendarDays } from './dates.ts';
import { rejectionMessage as msg, spanCovers, type Rejection, type Span } from './rejections.ts';

export interface AttendanceContext {
  ktsCourseNumber: string;
  date: string;
  schoolYear: string;
  /** The center's "today" in its own time zone. */
  today: string;
  /** The section exists in that year's catalog and belongs to the producing center. */
  sectionKnown: boolean;
  techSchoolId: string;
  waived: boolean;
  calendar: CalendarDays | undefined;
  /** Roster spans in this section and year, by student; a student missing here is not on the roster. */
  spans: ReadonlyMap<string, readonly Span[]>;
}

/**
 * The first rule each attendance record breaks, or nothing. For a center, a student who is not on
 * its roster and a student who does not exist look the same (`not_on_roster`): a center must not
 * learn whether a student it may not see exists.
 */
export function checkAttendanceRecord(
  ctx: AttendanceContext,
  studentId: string,
  recordIndex: number,
): Rejection | null {
  const reject = (code: Rejection['code'], message: string): Rejection => ({
    recordIndex,
    studentId,
    code,
    message,
  });
  if (!ctx.sectionKnown)
    return reject('unknown_section', msg.unknownSection(ctx.ktsCourseNumber, ctx.schoolYear));
  if (ctx.waived) return reject('waived', msg.waived(ctx.techSchoolId, ctx.schoolYear));
  const spans = ctx.spans.get(studentId);
  if (!spans || spans.length === 0) {
    return reject('not_on_roster', msg.notOnRoster(studentId, ctx.ktsCourseNumber, ctx.schoolYear));
  }
  if (!spans.some((s) => spanCovers(s, ctx.date))) {
    return reject(
      'outside_enrollment',
      msg.outsideEnrollment(studentId, ctx.ktsCourseNumber, ctx.date, spans),
    );
  }
  if (!isInstructionalDay(ctx.calendar, ctx.date)) {
    return reject('not_instructional_day', msg.notInstructionalDay(ctx.date, ctx.schoolYear));
  }
  if (ctx.date > ctx.today) return reject('future_date', msg.futureDate(ctx.date, ctx.today));
  return null;
}

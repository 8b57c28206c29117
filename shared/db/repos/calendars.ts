import type { Executor } from '../client.ts';
import type { Calendar, PeriodTime } from '../schema.ts';
import { conventionalSchoolYear, type CalendarDays } from '../../domain/dates.ts';

export interface CalendarInput {
  schoolId: string;
  schoolYear: string;
  firstDay: string;
  lastDay: string;
  nonInstructionalDays: string[];
  periods: PeriodTime[];
}

export async function upsertCalendar(db: Executor, c: CalendarInput, now: Date): Promise<Calendar> {
  return db
    .insertInto('calendars')
    .values({
      school_id: c.schoolId,
      school_year: c.schoolYear,
      first_day: c.firstDay,
      last_day: c.lastDay,
      non_instructional_days: JSON.stringify([...new Set(c.nonInstructionalDays)].sort()),
      periods: JSON.stringify(c.periods),
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['school_id', 'school_year']).doUpdateSet((eb) => ({
        first_day: eb.ref('excluded.first_day'),
        last_day: eb.ref('excluded.last_day'),
        non_instructional_days: eb.ref('excluded.non_instructional_days'),
        periods: eb.ref('excluded.periods'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export const calendarView = (c: Calendar) => ({
  schoolId: c.school_id,
  schoolYear: c.school_year,
  firstDay: c.first_day,
  lastDay: c.last_day,
  nonInstructionalDays: c.non_instructional_days,
  periods: c.periods,
});

export const toCalendarDays = (c: Calendar): CalendarDays => ({
  firstDay: c.first_day,
  lastDay: c.last_day,
  nonInstructionalDays: c.non_instructional_days,
});

/**
 * The school year a date belongs to for a school: the year whose calendar holds the date (api.md),
 * else Kentucky's July-to-June convention, so a date outside every calendar still has a year to
 * report against (and is then not an instructional day).
 */
export async function calendarForDate(
  db: Executor,
  schoolId: string,
  date: string,
): Promise<{ schoolYear: string; calendar: Calendar | undefined }> {
  const cal = await db
    .selectFrom('calendars')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('first_day', '<=', date)
    .where('last_day', '>=', date)
    .orderBy('school_year', 'desc')
    .executeTakeFirst();
  if (cal) return { schoolYear: cal.school_year, calendar: cal };
  const schoolYear = conventionalSchoolYear(date);
  const byYear = await db
    .selectFrom('calendars')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('school_year', '=', schoolYear)
    .executeTakeFirst();
  return { schoolYear, calendar: byYear };
}

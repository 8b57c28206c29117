/**
 * Calendar arithmetic on local dates (`YYYY-MM-DD` strings). Dates never pass through a JS `Date`
 * in local time: a school's "today" comes from Intl in the school's own time zone, so the server's
 * TZ never matters.
 */

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date (rejects 2027-02-30). */
export function isRealDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
}

export function addDays(date: string, days: number): string {
  const dt = new Date(`${date}T00:00:00Z`);
  dt.setUTCDate(dt.getUTCDate() + days);
  return dt.toISOString().slice(0, 10);
}

/** 0 = Sunday ... 6 = Saturday. */
export function weekday(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/** The local calendar date at `instant` in `timeZone`. */
export function localDate(instant: Date, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(instant);
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** `2026-2027` holds July 1, 2026 through June 30, 2027 (Kentucky's school year), when no calendar says otherwise. */
export function conventionalSchoolYear(date: string): string {
  const y = Number(date.slice(0, 4));
  const m = Number(date.slice(5, 7));
  const first = m >= 7 ? y : y - 1;
  return `${first}-${first + 1}`;
}

export interface CalendarDays {
  firstDay: string;
  lastDay: string;
  nonInstructionalDays: readonly string[];
}

/** api.md: between firstDay and lastDay, Monday to Friday, and not listed as non-instructional. */
export function isInstructionalDay(cal: CalendarDays | undefined, date: string): boolean {
  if (!cal) return false;
  if (date < cal.firstDay || date > cal.lastDay) return false;
  const wd = weekday(date);
  if (wd === 0 || wd === 6) return false;
  return !cal.nonInstructionalDays.includes(date);
}

import { addDays } from './dates.ts';

export interface EnrollmentAction {
  effectiveDate: string;
  action: 'add' | 'drop';
  hsPeriods: readonly number[];
}

export interface RosterSpan {
  startDate: string;
  endDate: string | null;
  hsPeriods: number[];
}

/**
 * Roster spans from every add and drop the high school sent for one student and section, walked in
 * effective-date order. Computing from the whole set (instead of patching the current span) is what
 * makes the roster independent of the order events arrive or retry in.
 * - add with no open span opens one; add on an open span changes its periods;
 * - drop closes the open span the day before its effective date (its first day off the roster);
 *   a drop effective on the span's first day means the student never attended, so the span goes.
 */
export function rosterSpans(actions: readonly EnrollmentAction[]): RosterSpan[] {
  const sorted = [...actions].sort((a, b) =>
    a.effectiveDate < b.effectiveDate ? -1 : a.effectiveDate > b.effectiveDate ? 1 : 0,
  );
  const spans: RosterSpan[] = [];
  let open: RosterSpan | null = null;
  for (const a of sorted) {
    if (a.action === 'add') {
      if (open) open.hsPeriods = [...a.hsPeriods];
      else open = { startDate: a.effectiveDate, endDate: null, hsPeriods: [...a.hsPeriods] };
    } else if (open) {
      const end = addDays(a.effectiveDate, -1);
      if (end >= open.startDate) spans.push({ ...open, endDate: end });
      open = null;
    }
  }
  if (open) spans.push(open);
  return spans;
}

import { addDays, isInstructionalDay, localDate, type CalendarDays } from './dates.ts';

/**
 * The run key of a night: the job fired at `fireAt` covers the previous local date in the school's
 * zone. Both 01:30s of the repeated hour on the November change share one local date, so they share
 * one key: the unique key in Postgres makes a double fire a no-op.
 */
export function coveredDate(fireAt: Date, timeZone: string): string {
  return addDays(localDate(fireAt, timeZone), -1);
}

/** The school's latest instructional day before `today` (a manual run without a date), within a season. */
export function latestInstructionalDayBefore(
  cal: CalendarDays | undefined,
  today: string,
): string | null {
  if (!cal) return null;
  let d = addDays(today, -1);
  for (let i = 0; i < 370; i++, d = addDays(d, -1)) {
    if (d < cal.firstDay) return null;
    if (isInstructionalDay(cal, d)) return d;
  }
  return null;
}

export interface HoldPolicy {
  /** Never hold below this many new unknowns for one school and night. */
  minimum: number;
  /** Hold when a night would create more than this many times the school's usual. */
  factor: number;
}

/**
 * The safety hold (after Clever's "hold on significant change"): a night that would create far more
 * unknowns than usual for a school (a mis-set calendar, a center that marked everyone absent) waits
 * for the state office instead of landing on the clerks' worklist.
 */
export function shouldHold(
  wouldCreate: number,
  recentCreated: readonly number[],
  policy: HoldPolicy,
): boolean {
  const usual = recentCreated.length
    ? recentCreated.reduce((a, b) => a + b, 0) / recentCreated.length
    : 0;
  return wouldCreate > Math.max(policy.minimum, policy.factor * usual);
}

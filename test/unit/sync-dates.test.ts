import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../shared/clock.ts';
import { addDays } from '../../shared/domain/dates.ts';
import { coveredDate, latestInstructionalDayBefore, shouldHold } from '../../shared/domain/sync.ts';

const ZONES = ['America/New_York', 'America/Chicago'] as const;

/** Local dates from `first` to `last`, inclusive. */
function dates(first: string, last: string): string[] {
  const out: string[] = [];
  for (let d = first; d <= last; d = addDays(d, 1)) out.push(d);
  return out;
}

const formats = new Map<string, Intl.DateTimeFormat>();
const wall = (instant: Date, timeZone: string) => {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(timeZone, f);
  }
  return f.format(instant).replace(', ', 'T');
};

/**
 * Every UTC instant at which a cron "30 1 * * *" in `timeZone` fires on local date `date`: every
 * instant whose wall clock there reads `date` 01:30. Found by trying every UTC offset (15-minute
 * steps) rather than trusting any offset table, so the repeated hour yields two instants and a
 * skipped hour none.
 */
function fireInstants(date: string, timeZone: string, hhmm = '01:30'): Date[] {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const localAsUtc = Date.UTC(y, mo - 1, d, h, m);
  const found = new Set<number>();
  for (let offsetMin = -14 * 60; offsetMin <= 14 * 60; offsetMin += 15) {
    const instant = new Date(localAsUtc - offsetMin * 60_000);
    if (wall(instant, timeZone) === `${date}T${hhmm}`) found.add(instant.getTime());
  }
  return [...found].sort((a, b) => a - b).map((t) => new Date(t));
}

describe('the run key of a night (coveredDate), driven by an injected clock', () => {
  const weeks = [dates('2027-03-10', '2027-03-18'), dates('2027-11-03', '2027-11-11')];

  it('the simulated cron fires once a night, twice on November 7 (the repeated 01:00 hour)', () => {
    expect(fireInstants('2027-11-07', 'America/New_York').map((d) => d.toISOString())).toEqual([
      '2027-11-07T05:30:00.000Z', // 01:30 EDT
      '2027-11-07T06:30:00.000Z', // 01:30 EST
    ]);
    expect(fireInstants('2027-11-07', 'America/Chicago').map((d) => d.toISOString())).toEqual([
      '2027-11-07T06:30:00.000Z', // 01:30 CDT
      '2027-11-07T07:30:00.000Z', // 01:30 CST
    ]);
    // March 14: 01:30 still exists (the jump is 02:00 → 03:00), once, on standard time.
    expect(fireInstants('2027-03-14', 'America/New_York').map((d) => d.toISOString())).toEqual([
      '2027-03-14T06:30:00.000Z',
    ]);
    expect(fireInstants('2027-03-15', 'America/New_York').map((d) => d.toISOString())).toEqual([
      '2027-03-15T05:30:00.000Z',
    ]);
    expect(fireInstants('2027-03-14', 'America/Chicago').map((d) => d.toISOString())).toEqual([
      '2027-03-14T07:30:00.000Z',
    ]);
    for (const tz of ZONES) {
      for (const week of weeks) {
        for (const night of week) {
          expect(fireInstants(night, tz).length, `${tz} ${night}`).toBe(
            night === '2027-11-07' ? 2 : 1,
          );
        }
      }
    }
  });

  for (const tz of ZONES) {
    for (const week of weeks) {
      it(`${tz}, ${week[0]} to ${week.at(-1)}: exactly one key per local night, never two, never none`, () => {
        const keysByNight = new Map<string, Set<string>>();
        const allKeys = new Set<string>();
        let fires = 0;
        for (const night of week) {
          for (const instant of fireInstants(night, tz)) {
            fires += 1;
            const clock = fixedClock(instant);
            const key = `${tz}|${coveredDate(clock.now(), tz)}`;
            allKeys.add(key);
            const set = keysByNight.get(night) ?? new Set<string>();
            set.add(key);
            keysByNight.set(night, set);
          }
        }
        expect(fires).toBe(week.length + (week.includes('2027-11-07') ? 1 : 0));
        // Every night produced a key (never none) ...
        expect([...keysByNight.keys()]).toEqual(week);
        // ... exactly one (both Nov 7 fires share it) ...
        for (const night of week)
          expect([...keysByNight.get(night)!], `${tz} ${night}`).toEqual([
            `${tz}|${addDays(night, -1)}`,
          ]);
        // ... and no two nights share one.
        expect(allKeys.size).toBe(week.length);
        expect([...allKeys]).toEqual(week.map((n) => `${tz}|${addDays(n, -1)}`));
      });
    }

    it(`${tz}: both November 7 fire instants produce the same key`, () => {
      const [first, second] = fireInstants('2027-11-07', tz) as [Date, Date];
      expect(second.getTime() - first.getTime()).toBe(3600_000);
      expect(coveredDate(first, tz)).toBe('2027-11-06');
      expect(coveredDate(second, tz)).toBe('2027-11-06');
      // And a late job (the intended fire time is what the processor passes, but a job running
      // hours late on the same local night must still land on the same key).
      expect(coveredDate(new Date(first.getTime() + 20 * 3600_000), tz)).toBe('2027-11-06');
    });
  }

  it('the key depends on the school zone, not the server: the same instant is one night in each', () => {
    // 05:30Z on Nov 7 is 01:30 EDT in New York but 00:30 CDT in Chicago: both "the night after Nov 6".
    const at = new Date('2027-11-07T05:30:00Z');
    expect(coveredDate(at, 'America/New_York')).toBe('2027-11-06');
    expect(coveredDate(at, 'America/Chicago')).toBe('2027-11-06');
    // 04:30Z is still Nov 6 in Chicago (23:30 CDT): that instant is not a Chicago fire time.
    expect(coveredDate(new Date('2027-11-07T04:30:00Z'), 'America/Chicago')).toBe('2027-11-05');
  });
});

describe('latestInstructionalDayBefore', () => {
  const cal = {
    firstDay: '2026-08-12',
    lastDay: '2027-05-28',
    nonInstructionalDays: ['2027-01-18'],
  };

  it('Monday → the previous Friday', () => {
    expect(latestInstructionalDayBefore(cal, '2027-01-25')).toBe('2027-01-22');
    expect(latestInstructionalDayBefore(cal, '2027-01-11')).toBe('2027-01-08');
  });

  it('the day after the listed holiday skips it and the weekend', () => {
    // Tuesday January 19, 2027: Monday the 18th is listed, so the Friday before.
    expect(latestInstructionalDayBefore(cal, '2027-01-19')).toBe('2027-01-15');
    expect(latestInstructionalDayBefore(cal, '2027-01-20')).toBe('2027-01-19');
    // Weekends ahead of an ordinary day.
    expect(latestInstructionalDayBefore(cal, '2027-01-17')).toBe('2027-01-15');
  });

  it('on or before firstDay → null; the first day itself counts for the day after', () => {
    expect(latestInstructionalDayBefore(cal, '2026-08-12')).toBeNull();
    expect(latestInstructionalDayBefore(cal, '2026-07-01')).toBeNull();
    expect(latestInstructionalDayBefore(cal, '2026-08-13')).toBe('2026-08-12');
  });

  it('after lastDay → lastDay; no calendar → null', () => {
    expect(latestInstructionalDayBefore(cal, '2027-06-10')).toBe('2027-05-28');
    expect(latestInstructionalDayBefore(undefined, '2027-01-20')).toBeNull();
  });
});

describe('shouldHold', () => {
  it('never holds at or below the minimum when there is no history', () => {
    const p = { minimum: 500, factor: 5 };
    expect(shouldHold(0, [], p)).toBe(false);
    expect(shouldHold(500, [], p)).toBe(false);
    expect(shouldHold(501, [], p)).toBe(true);
  });

  it('holds above factor × the average of recent nights when that is above the minimum', () => {
    const p = { minimum: 2, factor: 5 };
    // average 150 → threshold 750
    expect(shouldHold(750, [100, 200], p)).toBe(false);
    expect(shouldHold(751, [100, 200], p)).toBe(true);
    // average 10 → threshold 50
    expect(shouldHold(50, [10, 10, 10], p)).toBe(false);
    expect(shouldHold(51, [10, 10, 10], p)).toBe(true);
  });

  it('the minimum wins over a small usual', () => {
    const p = { minimum: 500, factor: 5 };
    // average 4 → 20 < 500: the minimum is the threshold
    expect(shouldHold(499, [4, 4], p)).toBe(false);
    expect(shouldHold(501, [4, 4], p)).toBe(true);
  });

  it('no history and a zero minimum: anything at all is held, nothing is not', () => {
    const p = { minimum: 0, factor: 5 };
    expect(shouldHold(0, [], p)).toBe(false);
    expect(shouldHold(1, [], p)).toBe(true);
    // nights that created nothing keep the usual at 0
    expect(shouldHold(1, [0, 0, 0], p)).toBe(true);
  });
});

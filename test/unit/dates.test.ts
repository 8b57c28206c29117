import { describe, expect, it } from 'vitest';
import {
  addDays,
  conventionalSchoolYear,
  isInstructionalDay,
  isRealDate,
  localDate,
} from '../../shared/domain/dates.ts';

describe('calendar rules', () => {
  const cal = {
    firstDay: '2026-08-12',
    lastDay: '2027-05-28',
    nonInstructionalDays: ['2027-01-18'],
  };

  it('a day is instructional between firstDay and lastDay, Monday to Friday, and not listed', () => {
    expect(isInstructionalDay(cal, '2027-01-19')).toBe(true); // Tuesday
    expect(isInstructionalDay(cal, '2027-01-18')).toBe(false); // listed (MLK day)
    expect(isInstructionalDay(cal, '2027-01-16')).toBe(false); // Saturday
    expect(isInstructionalDay(cal, '2027-01-17')).toBe(false); // Sunday
    expect(isInstructionalDay(cal, '2026-08-11')).toBe(false); // before firstDay
    expect(isInstructionalDay(cal, '2026-08-12')).toBe(true); // firstDay itself
    expect(isInstructionalDay(cal, '2027-05-28')).toBe(true); // lastDay itself (Friday)
    expect(isInstructionalDay(cal, '2027-05-31')).toBe(false); // after lastDay
    expect(isInstructionalDay(undefined, '2027-01-19')).toBe(false); // no calendar at all
  });

  it('rejects dates that do not exist', () => {
    expect(isRealDate('2027-02-30')).toBe(false);
    expect(isRealDate('2027-13-01')).toBe(false);
    expect(isRealDate('2028-02-29')).toBe(true);
    expect(isRealDate('2027-02-29')).toBe(false);
    expect(isRealDate('27-01-01')).toBe(false);
  });

  it('adds days across months and years', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2027-03-01', -1)).toBe('2027-02-28');
  });

  it("today is the school's local date, whatever the server's zone", () => {
    const instant = new Date('2027-01-20T04:30:00Z');
    expect(localDate(instant, 'America/New_York')).toBe('2027-01-19');
    expect(localDate(instant, 'America/Chicago')).toBe('2027-01-19');
    expect(localDate(new Date('2027-01-20T05:30:00Z'), 'America/New_York')).toBe('2027-01-20');
    expect(localDate(new Date('2027-01-20T05:30:00Z'), 'America/Chicago')).toBe('2027-01-19');
  });

  it('a school year runs July to June when no calendar says otherwise', () => {
    expect(conventionalSchoolYear('2027-01-19')).toBe('2026-2027');
    expect(conventionalSchoolYear('2026-07-01')).toBe('2026-2027');
    expect(conventionalSchoolYear('2026-06-30')).toBe('2025-2026');
  });
});

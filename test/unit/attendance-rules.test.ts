import { describe, expect, it } from 'vitest';
import {
  checkAttendanceRecord,
  type AttendanceContext,
} from '../../shared/domain/attendance-rules.ts';

const base: AttendanceContext = {
  ktsCourseNumber: 'ATC1-WLD-101',
  date: '2027-01-19',
  schoolYear: '2026-2027',
  today: '2027-01-20',
  sectionKnown: true,
  techSchoolId: 'ATC1',
  waived: false,
  calendar: { firstDay: '2026-08-12', lastDay: '2027-05-28', nonInstructionalDays: ['2027-01-18'] },
  spans: new Map([
    ['1000000001', [{ startDate: '2027-01-04', endDate: null }]],
    ['1000000002', [{ startDate: '2026-08-12', endDate: '2026-12-18' }]],
  ]),
};
const code = (over: Partial<AttendanceContext>, student = '1000000001') =>
  checkAttendanceRecord({ ...base, ...over }, student, 0)?.code ?? null;

describe('attendance rules, in the order api.md checks them', () => {
  it('accepts a record that breaks nothing', () => expect(code({})).toBeNull());
  it('unknown_section first, even when everything else is wrong too', () =>
    expect(code({ sectionKnown: false, waived: true, date: '2027-01-23' }, '9999999999')).toBe(
      'unknown_section',
    ));
  it('waived before roster rules', () =>
    expect(code({ waived: true }, '9999999999')).toBe('waived'));
  it('not_on_roster for a student with no span (or one the center may not see)', () =>
    expect(code({}, '9999999999')).toBe('not_on_roster'));
  it('outside_enrollment when a span exists but not on that date', () =>
    expect(code({}, '1000000002')).toBe('outside_enrollment'));
  it('not_instructional_day for a listed day off or a weekend', () => {
    expect(code({ date: '2027-01-18' })).toBe('not_instructional_day');
    expect(code({ date: '2027-01-16' })).toBe('not_instructional_day');
  });
  it("future_date after today in the center's zone", () => {
    expect(code({ date: '2027-01-21', today: '2027-01-20' })).toBe('future_date');
    expect(code({ date: '2027-01-20', today: '2027-01-20' })).toBeNull();
  });
  it('every rejection carries a sentence naming the record', () => {
    const r = checkAttendanceRecord(base, '1000000002', 7);
    expect(r).toMatchObject({
      recordIndex: 7,
      studentId: '1000000002',
      code: 'outside_enrollment',
    });
    expect(r?.message).toContain('2026-08-12 to 2026-12-18');
  });
});

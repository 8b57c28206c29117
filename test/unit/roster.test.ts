import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rosterSpans, type EnrollmentAction } from '../../shared/domain/roster.ts';

const add = (effectiveDate: string, hsPeriods = [1, 2]): EnrollmentAction => ({
  effectiveDate,
  action: 'add',
  hsPeriods,
});
const drop = (effectiveDate: string): EnrollmentAction => ({
  effectiveDate,
  action: 'drop',
  hsPeriods: [],
});

describe('roster spans from adds and drops', () => {
  it('an add opens a span; a drop ends it the day before its effective date', () => {
    expect(rosterSpans([add('2027-01-04'), drop('2027-02-01')])).toEqual([
      { startDate: '2027-01-04', endDate: '2027-01-31', hsPeriods: [1, 2] },
    ]);
  });

  it('a later add opens a new span', () => {
    expect(rosterSpans([add('2026-08-12'), drop('2026-10-01'), add('2027-01-04', [5, 6])])).toEqual(
      [
        { startDate: '2026-08-12', endDate: '2026-09-30', hsPeriods: [1, 2] },
        { startDate: '2027-01-04', endDate: null, hsPeriods: [5, 6] },
      ],
    );
  });

  it('a drop on the first day means the student never attended', () => {
    expect(rosterSpans([add('2027-01-04'), drop('2027-01-04')])).toEqual([]);
  });

  it('an add on an open span changes its periods; a drop with nothing open does nothing', () => {
    expect(rosterSpans([drop('2026-09-01'), add('2026-09-02'), add('2026-10-01', [3])])).toEqual([
      { startDate: '2026-09-02', endDate: null, hsPeriods: [3] },
    ]);
  });

  it('does not depend on the order the actions arrive in', () => {
    const day = fc
      .integer({ min: 1, max: 200 })
      .map((d) => new Date(Date.UTC(2026, 7, 12 + d)).toISOString().slice(0, 10));
    const action = fc.record({
      effectiveDate: day,
      action: fc.constantFrom('add' as const, 'drop' as const),
      hsPeriods: fc.constant([1]),
    });
    // One action per effective date, as the natural key (student, section, year, date) guarantees.
    const actions = fc.uniqueArray(action, { selector: (a) => a.effectiveDate, maxLength: 12 });
    fc.assert(
      fc.property(actions, fc.func(fc.integer()), (list, rank) => {
        const shuffled = [...list].sort((a, b) => rank(a.effectiveDate) - rank(b.effectiveDate));
        expect(rosterSpans(shuffled)).toEqual(rosterSpans(list));
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { waiverRequestProblem } from '../../shared/domain/waivers.ts';

const TODAY = '2027-01-20';

describe('waiverRequestProblem: who may ask', () => {
  it('refuses an ATC with the ATC message, whatever the year and date', () => {
    const atc =
      'ATCs (state-operated centers) are not eligible for a KTS data-exchange waiver; only CTCs may ask.';
    expect(waiverRequestProblem('atc', '2027-2028', TODAY)).toBe(atc);
    expect(waiverRequestProblem('atc', '2026-2027', '2026-06-01')).toBe(atc);
  });

  it('refuses a high school (and any other kind)', () => {
    const onlyCtc =
      'Only CTCs (locally operated career and technical centers) may ask for a KTS data-exchange waiver.';
    expect(waiverRequestProblem('high_school', '2027-2028', TODAY)).toBe(onlyCtc);
    expect(waiverRequestProblem('district', '2027-2028', TODAY)).toBe(onlyCtc);
  });

  it('accepts a CTC asking for the next school year in the window', () => {
    expect(waiverRequestProblem('ctc', '2027-2028', TODAY)).toBeNull();
  });
});

describe('waiverRequestProblem: the next school year only', () => {
  it('refuses the current year and the year after next, naming the next year', () => {
    expect(waiverRequestProblem('ctc', '2026-2027', TODAY)).toBe(
      'A waiver is asked for the next school year only: on 2027-01-20 that is 2027-2028, not 2026-2027.',
    );
    expect(waiverRequestProblem('ctc', '2028-2029', TODAY)).toBe(
      'A waiver is asked for the next school year only: on 2027-01-20 that is 2027-2028, not 2028-2029.',
    );
    expect(waiverRequestProblem('ctc', '2025-2026', TODAY)).toMatch(/next school year only/);
  });
});

describe('waiverRequestProblem: January 1 through March 1, inclusive', () => {
  const window = (today: string) =>
    `Waiver requests are taken January 1 through March 1; today (${today}) is outside that window.`;

  it('accepts January 1 and March 1', () => {
    expect(waiverRequestProblem('ctc', '2027-2028', '2027-01-01')).toBeNull();
    expect(waiverRequestProblem('ctc', '2027-2028', '2027-03-01')).toBeNull();
    expect(waiverRequestProblem('ctc', '2027-2028', '2027-02-28')).toBeNull();
  });

  it('refuses December 31 and March 2', () => {
    // On Dec 31, 2026 the next year is still 2027-2028: the window is the rule broken.
    expect(waiverRequestProblem('ctc', '2027-2028', '2026-12-31')).toBe(window('2026-12-31'));
    expect(waiverRequestProblem('ctc', '2027-2028', '2027-03-02')).toBe(window('2027-03-02'));
    expect(waiverRequestProblem('ctc', '2027-2028', '2027-06-30')).toBe(window('2027-06-30'));
  });

  it('accepts February 29 of a leap year (for the next year, 2028-2029)', () => {
    expect(waiverRequestProblem('ctc', '2028-2029', '2028-02-29')).toBeNull();
    expect(waiverRequestProblem('ctc', '2028-2029', '2028-03-01')).toBeNull();
    expect(waiverRequestProblem('ctc', '2028-2029', '2028-03-02')).toBe(window('2028-03-02'));
    expect(waiverRequestProblem('ctc', '2027-2028', '2028-02-29')).toMatch(/next school year only/);
  });

  it('on July 1 the next year moves on, and the window is closed anyway', () => {
    expect(waiverRequestProblem('ctc', '2027-2028', '2027-07-01')).toMatch(
      /on 2027-07-01 that is 2028-2029, not 2027-2028/,
    );
    expect(waiverRequestProblem('ctc', '2028-2029', '2027-07-01')).toBe(window('2027-07-01'));
  });
});

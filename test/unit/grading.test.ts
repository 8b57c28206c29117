import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ELIGIBILITY_RULE,
  evaluateEligibility,
  isFailing,
  latestPerCourse,
  transcriptEntries,
  type EligibilityRule,
  type GradedCourse,
  type TranscriptGrade,
} from '../../shared/domain/grading.ts';

const rule = (over: Partial<EligibilityRule> = {}): EligibilityRule => ({
  ...DEFAULT_ELIGIBILITY_RULE,
  failingLetterGrades: [...DEFAULT_ELIGIBILITY_RULE.failingLetterGrades],
  ...over,
});

const graded = (over: Partial<GradedCourse> = {}): GradedCourse => ({
  source: 'high_school',
  schoolId: 'HS1',
  schoolName: 'Bourbon County High',
  courseKey: 'ENG-11',
  courseCode: '230107',
  title: 'English III',
  letterGrade: 'B',
  numericGrade: null,
  occurredAt: '2027-01-10T15:00:00.000Z',
  eventId: 'e-1',
  ...over,
});

const welding = (over: Partial<GradedCourse> = {}): GradedCourse =>
  graded({
    source: 'tech_center',
    schoolId: 'ATC1',
    schoolName: 'Bourbon County ATC',
    courseKey: 'ATC1-WLD-101',
    courseCode: '480101',
    title: 'Welding I',
    ...over,
  });

const posted = (over: Partial<TranscriptGrade> = {}): TranscriptGrade => ({
  ...welding(),
  schoolYear: '2026-2027',
  term: 'S1',
  gradeType: 'semester',
  credits: 1,
  courseTerm: 'year',
  creditsEarned: null,
  schoolKind: 'atc',
  ...over,
});

describe('the default rule', () => {
  it('is exactly the body api.md names', () => {
    expect(DEFAULT_ELIGIBILITY_RULE).toEqual({
      passingNumericGrade: 60,
      failingLetterGrades: ['F'],
      maxFailingCourses: 0,
      minPassingCourses: 0,
    });
    expect(Object.isFrozen(DEFAULT_ELIGIBILITY_RULE)).toBe(true);
  });
});

describe('isFailing', () => {
  const r = rule();
  it('a listed letter grade fails, whatever its case', () => {
    expect(isFailing(r, { letterGrade: 'F', numericGrade: null })).toBe(true);
    expect(isFailing(r, { letterGrade: 'f', numericGrade: null })).toBe(true);
    expect(
      isFailing(rule({ failingLetterGrades: ['e', 'F'] }), {
        letterGrade: 'E',
        numericGrade: null,
      }),
    ).toBe(true);
  });

  it('a letter grade the rule does not list passes', () => {
    for (const letter of ['A', 'B+', 'C-', 'D', 'P', 'FF']) {
      expect(isFailing(r, { letterGrade: letter, numericGrade: null }), letter).toBe(false);
    }
    expect(
      isFailing(rule({ failingLetterGrades: [] }), { letterGrade: 'F', numericGrade: null }),
    ).toBe(false);
    expect(
      isFailing(rule({ failingLetterGrades: ['D', 'F'] }), {
        letterGrade: 'd',
        numericGrade: null,
      }),
    ).toBe(true);
  });

  it('a numeric grade below the threshold fails; the threshold itself passes', () => {
    expect(isFailing(r, { letterGrade: null, numericGrade: 59.99 })).toBe(true);
    expect(isFailing(r, { letterGrade: null, numericGrade: 0 })).toBe(true);
    expect(isFailing(r, { letterGrade: null, numericGrade: 60 })).toBe(false);
    expect(isFailing(r, { letterGrade: null, numericGrade: 100 })).toBe(false);
    expect(
      isFailing(rule({ passingNumericGrade: 70 }), { letterGrade: null, numericGrade: 65 }),
    ).toBe(true);
  });

  it('with both grades, either one failing fails the course', () => {
    expect(isFailing(r, { letterGrade: 'F', numericGrade: 90 })).toBe(true);
    expect(isFailing(r, { letterGrade: 'C', numericGrade: 55 })).toBe(true);
    expect(isFailing(r, { letterGrade: 'C', numericGrade: 75 })).toBe(false);
    expect(isFailing(r, { letterGrade: 'f', numericGrade: 55 })).toBe(true);
  });

  it('no grade at all does not fail', () => {
    expect(isFailing(r, { letterGrade: null, numericGrade: null })).toBe(false);
  });
});

describe('latestPerCourse', () => {
  it('keeps one grade per school and course: the latest occurredAt, ties broken by eventId bytewise', () => {
    const early = welding({
      letterGrade: 'F',
      occurredAt: '2027-01-10T15:00:00.000Z',
      eventId: 'z',
    });
    const late = welding({
      letterGrade: 'A',
      occurredAt: '2027-01-11T15:00:00.000Z',
      eventId: 'a',
    });
    expect(latestPerCourse([late, early])).toEqual([late]);
    expect(latestPerCourse([early, late])).toEqual([late]);

    // Same instant: bytewise, 'B' (0x42) < 'a' (0x61), so 'a' wins even though localeCompare says otherwise.
    const tieUpper = welding({ letterGrade: 'F', eventId: 'B' });
    const tieLower = welding({ letterGrade: 'A', eventId: 'a' });
    expect(latestPerCourse([tieLower, tieUpper])).toEqual([tieLower]);
    expect(latestPerCourse([tieUpper, tieLower])).toEqual([tieLower]);
  });

  it('the same course key at two schools is two courses', () => {
    const a = graded({ schoolId: 'HS1', courseKey: 'X' });
    const b = graded({ schoolId: 'ATC1', courseKey: 'X', title: 'Other' });
    expect(latestPerCourse([a, b])).toHaveLength(2);
  });
});

describe('evaluateEligibility', () => {
  const TERM = 'S1 2026-2027';

  it('default rule: one failing course (a tech course) makes the student ineligible; the reason names it', () => {
    const res = evaluateEligibility(rule(), TERM, [graded(), welding({ letterGrade: 'F' })]);
    expect(res).toEqual({
      eligible: false,
      passingCourses: 1,
      failingCourses: 1,
      reasons: [
        'Failing Welding I (480101) at Bourbon County ATC (ATC1) with F.',
        '1 failing course in S1 2026-2027; the rule allows at most 0.',
      ],
    });
  });

  it('a numeric failure and both marks are described in the reason', () => {
    const res = evaluateEligibility(rule(), TERM, [
      welding({ letterGrade: 'D', numericGrade: 55 }),
    ]);
    expect(res.eligible).toBe(false);
    expect(res.reasons[0]).toBe(
      'Failing Welding I (480101) at Bourbon County ATC (ATC1) with D / 55.',
    );
  });

  it('maxFailingCourses 1 allows one failing course but not two', () => {
    const r = rule({ maxFailingCourses: 1 });
    const one = evaluateEligibility(r, TERM, [graded(), welding({ letterGrade: 'F' })]);
    expect(one.eligible).toBe(true);
    expect(one.passingCourses).toBe(1);
    expect(one.failingCourses).toBe(1);
    expect(one.reasons).toEqual([
      'Failing Welding I (480101) at Bourbon County ATC (ATC1) with F.',
      '1 passing and 1 failing course in S1 2026-2027, within the rule.',
    ]);

    const two = evaluateEligibility(r, TERM, [
      graded({ letterGrade: null, numericGrade: 40 }),
      welding({ letterGrade: 'F' }),
    ]);
    expect(two.eligible).toBe(false);
    expect(two.failingCourses).toBe(2);
    expect(two.passingCourses).toBe(0);
    expect(two.reasons).toContain('2 failing courses in S1 2026-2027; the rule allows at most 1.');
    expect(two.reasons).toContain(
      'Failing English III (230107) at Bourbon County High (HS1) with 40.',
    );
  });

  it('minPassingCourses requires that many passing courses', () => {
    const r = rule({ minPassingCourses: 2 });
    const short = evaluateEligibility(r, TERM, [graded()]);
    expect(short).toEqual({
      eligible: false,
      passingCourses: 1,
      failingCourses: 0,
      reasons: ['1 passing course in S1 2026-2027; the rule requires at least 2.'],
    });
    const enough = evaluateEligibility(r, TERM, [graded(), welding({ letterGrade: 'A' })]);
    expect(enough.eligible).toBe(true);
    expect(enough.passingCourses).toBe(2);
    expect(enough.reasons).toEqual([
      '2 passing and 0 failing courses in S1 2026-2027, within the rule.',
    ]);
  });

  it('a course counts once, by its latest grade (an older F is superseded; eventId breaks a tie)', () => {
    const corrected = evaluateEligibility(rule(), TERM, [
      welding({ letterGrade: 'F', occurredAt: '2027-01-10T15:00:00.000Z', eventId: 'e-9' }),
      welding({ letterGrade: 'C', occurredAt: '2027-01-12T15:00:00.000Z', eventId: 'e-1' }),
    ]);
    expect(corrected).toMatchObject({ eligible: true, passingCourses: 1, failingCourses: 0 });

    const tie = evaluateEligibility(rule(), TERM, [
      welding({ letterGrade: 'C', eventId: 'e-1' }),
      welding({ letterGrade: 'F', eventId: 'e-2' }),
    ]);
    expect(tie).toMatchObject({ eligible: false, passingCourses: 0, failingCourses: 1 });
  });

  it('no grades: eligible, with a reason saying none are posted', () => {
    expect(evaluateEligibility(rule(), TERM, [])).toEqual({
      eligible: true,
      passingCourses: 0,
      failingCourses: 0,
      reasons: ['No posted grades for S1 2026-2027 yet, from the high school or a tech center.'],
    });
  });

  it('no grades with a minimum of passing courses: ineligible, both reasons given', () => {
    expect(evaluateEligibility(rule({ minPassingCourses: 1 }), TERM, [])).toEqual({
      eligible: false,
      passingCourses: 0,
      failingCourses: 0,
      reasons: [
        '0 passing courses in S1 2026-2027; the rule requires at least 1.',
        'No posted grades for S1 2026-2027 yet, from the high school or a tech center.',
      ],
    });
  });
});

describe('transcriptEntries', () => {
  const r = rule();

  it('grading-period grades make no entry', () => {
    expect(
      transcriptEntries(r, [posted({ gradeType: 'grading_period', term: 'Q1', letterGrade: 'A' })]),
    ).toEqual([]);
  });

  it('a semester grade of a year-long section attempts half its credits; passing earns them', () => {
    expect(transcriptEntries(r, [posted({ letterGrade: 'B' })])).toEqual([
      {
        schoolYear: '2026-2027',
        courseCode: '480101',
        title: 'Welding I',
        term: 'S1',
        creditsAttempted: 0.5,
        creditsEarned: 0.5,
        finalGrade: 'B',
        earnedAt: { schoolId: 'ATC1', name: 'Bourbon County ATC', kind: 'atc' },
      },
    ]);
  });

  it('a semester grade of a semester section, or of a high-school course, keeps the full credits', () => {
    const [nursing] = transcriptEntries(r, [
      posted({ courseTerm: 'S2', term: 'S2', courseKey: 'ATC1-NUR-201', title: 'Nurse Aide' }),
    ]);
    expect(nursing!.creditsAttempted).toBe(1);
    const [hs] = transcriptEntries(r, [
      posted({
        ...graded(),
        courseTerm: null,
        credits: 1,
        schoolKind: 'high_school',
      }),
    ]);
    expect(hs!.creditsAttempted).toBe(1);
    expect(hs!.earnedAt).toEqual({
      schoolId: 'HS1',
      name: 'Bourbon County High',
      kind: 'high_school',
    });
  });

  it('a final grade replaces that course’s semester entries (and only that course’s)', () => {
    const entries = transcriptEntries(r, [
      posted({ term: 'S1', letterGrade: 'B' }),
      posted({ term: 'S2', letterGrade: 'C' }),
      posted({ term: 'FY', gradeType: 'final', letterGrade: 'B+' }),
      posted({
        courseKey: 'ATC1-NUR-201',
        courseCode: '170101',
        title: 'Nurse Aide',
        courseTerm: 'S2',
        term: 'S2',
        letterGrade: 'A',
      }),
      // The same course in another school year is another course.
      posted({ schoolYear: '2025-2026', term: 'S1', letterGrade: 'D' }),
    ]);
    expect(
      entries.map((e) => [e.schoolYear, e.title, e.term, e.creditsAttempted, e.finalGrade]),
    ).toEqual([
      ['2025-2026', 'Welding I', 'S1', 0.5, 'D'],
      ['2026-2027', 'Nurse Aide', 'S2', 1, 'A'],
      ['2026-2027', 'Welding I', 'FY', 1, 'B+'],
    ]);
  });

  it('credits earned: the record’s when given, else attempted when passing and 0 when failing', () => {
    const fy = { term: 'FY', gradeType: 'final' as const, credits: 2, courseTerm: 'year' };
    const [failing] = transcriptEntries(r, [
      posted({ ...fy, letterGrade: null, numericGrade: 55 }),
    ]);
    expect(failing).toMatchObject({ creditsAttempted: 2, creditsEarned: 0, finalGrade: '55' });
    const [passing] = transcriptEntries(r, [
      posted({ ...fy, letterGrade: null, numericGrade: 82.5 }),
    ]);
    expect(passing).toMatchObject({ creditsAttempted: 2, creditsEarned: 2, finalGrade: '82.5' });
    const [explicit] = transcriptEntries(r, [
      posted({ ...fy, letterGrade: 'C', creditsEarned: 1.5 }),
    ]);
    expect(explicit).toMatchObject({ creditsAttempted: 2, creditsEarned: 1.5 });
    const [explicitZero] = transcriptEntries(r, [
      posted({ ...fy, letterGrade: 'A', creditsEarned: 0 }),
    ]);
    expect(explicitZero).toMatchObject({ creditsEarned: 0 });
    const [lowerF] = transcriptEntries(r, [posted({ ...fy, letterGrade: 'f' })]);
    expect(lowerF).toMatchObject({ creditsEarned: 0, finalGrade: 'f' });
    // The home school's rule decides passing: 65 fails under a 70 threshold.
    const [strict] = transcriptEntries(rule({ passingNumericGrade: 70 }), [
      posted({ ...fy, letterGrade: null, numericGrade: 65 }),
    ]);
    expect(strict).toMatchObject({ creditsEarned: 0 });
  });

  it('finalGrade is the letter grade when there is one, else the numeric grade as a string', () => {
    const [both] = transcriptEntries(r, [posted({ letterGrade: 'A-', numericGrade: 91 })]);
    expect(both!.finalGrade).toBe('A-');
    const [numeric] = transcriptEntries(r, [posted({ letterGrade: null, numericGrade: 100 })]);
    expect(numeric!.finalGrade).toBe('100');
  });
});

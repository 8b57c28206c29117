import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestExchange } from '../support/context.ts';
import {
  applied,
  enroll,
  nextEventId,
  seededExchange,
  YEAR,
  type County,
} from '../support/county.ts';
import { rejectionMessage as msg } from '../../shared/domain/rejections.ts';
import {
  EligibilityResponse,
  EligibilityRuleResponse,
  ErrorResponse,
  EventAccepted,
  EventStatusResponse,
  HistoryResponse,
  ReportCardResponse,
  TranscriptResponse,
} from '../../producers/http/responses.ts';

let t: TestExchange;
let c: County;
/** HS1 students; the first seven are on the ATC1 welding roster, the eighth is not. */
let s: string[];

const WELDING = 'ATC1-WLD-101';
const ENGLISH = { courseId: 'ENG-11', courseCode: '230107', title: 'English III', credits: 1 };
const ATC1_AT = { schoolId: 'ATC1', name: 'Bourbon County ATC', kind: 'atc' };

beforeAll(async () => {
  ({ t, c } = await seededExchange({ studentsPerSchool: 8 }));
  s = c.students.hs1;
  for (const id of s.slice(0, 7)) {
    const e = enroll(id, WELDING, { effectiveDate: '2026-08-12' });
    expect((await t.api('POST', '/v1/events', { token: c.tokens.hs1, body: e })).status).toBe(202);
    expect((await applied(t, e.eventId, c.tokens.hs1)).status).toBe('applied');
  }
});
afterAll(async () => t?.close());

const grade = (
  target: { ktsCourseNumber: string } | { course: typeof ENGLISH },
  records: object[],
  over: Record<string, unknown> = {},
) => ({
  type: 'grade-finalized',
  eventId: nextEventId('grd'),
  occurredAt: '2027-01-15T12:00:00-05:00',
  schoolYear: YEAR,
  term: 'S1',
  gradeType: 'semester',
  ...target,
  records,
  ...over,
});

/** Post through HTTP, wait for a real worker, return the parsed event view. */
async function postApplied(
  token: string,
  body: { eventId: string },
  status: 'applied' | 'partially_applied' | 'rejected' = 'applied',
) {
  const r = await t.api('POST', '/v1/events', { token, body });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  expect(EventAccepted.parse(r.body)).toEqual({ eventId: body.eventId, status: 'pending' });
  const view = EventStatusResponse.parse(await applied(t, body.eventId, token));
  expect(view.status, JSON.stringify(view.rejections)).toBe(status);
  return view;
}

async function forbiddenAtTheDoor(token: string, body: { eventId: string }, schoolId: string) {
  const r = await t.api('POST', '/v1/events', { token, body });
  expect(r.status, JSON.stringify(r.body)).toBe(403);
  expect(ErrorResponse.parse(r.body).error.code).toBe('forbidden');
  const stored = await t.db
    .selectFrom('events')
    .select('seq')
    .where('school_id', '=', schoolId)
    .where('event_id', '=', body.eventId)
    .execute();
  expect(stored).toEqual([]);
  return ErrorResponse.parse(r.body);
}

async function reportCard(studentId: string, query = '') {
  const r = await t.api('GET', `/v1/students/${studentId}/report-card${query}`, {
    token: c.tokens.hs1,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return ReportCardResponse.parse(r.body).grades;
}

async function transcript(studentId: string) {
  const r = await t.api('GET', `/v1/students/${studentId}/transcript`, { token: c.tokens.hs1 });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return TranscriptResponse.parse(r.body).entries;
}

async function eligibility(studentId: string, term = 'S1') {
  const r = await t.api(
    'GET',
    `/v1/students/${studentId}/eligibility?schoolYear=${YEAR}&term=${term}`,
    { token: c.tokens.hs1 },
  );
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return EligibilityResponse.parse(r.body);
}

async function history(studentId: string, token = c.tokens.hs1) {
  const r = await t.api('GET', `/v1/students/${studentId}/history?limit=1000`, { token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return HistoryResponse.parse(r.body);
}

const gradeRows = (studentId: string) =>
  t.db
    .selectFrom('grades')
    .select([
      'school_id',
      'source',
      'course_key',
      'term',
      'grade_type',
      'letter_grade',
      'numeric_grade',
      'credits_earned',
      'event_id',
    ])
    .where('student_id', '=', studentId)
    .orderBy('source')
    .orderBy('term')
    .orderBy('grade_type')
    .execute();

describe('posting grades', () => {
  it('a center’s grade for its section lands on the report card as tech_center with the center’s id', async () => {
    const e = grade({ ktsCourseNumber: WELDING }, [
      { studentId: s[0], letterGrade: 'B', numericGrade: 85 },
    ]);
    const view = await postApplied(c.tokens.atc, e);
    expect(view).toMatchObject({ schoolId: 'ATC1', type: 'grade-finalized', status: 'applied' });
    expect(view.rejections).toEqual([]);

    const grades = await reportCard(s[0]!);
    expect(grades).toHaveLength(1);
    expect(grades[0]).toMatchObject({
      source: 'tech_center',
      schoolId: 'ATC1',
      courseCode: '480101',
      title: 'Welding I',
      term: 'S1',
      gradeType: 'semester',
      letterGrade: 'B',
      numericGrade: 85,
    });
    expect(grades[0]!.postedAt).toMatch(/^2027-01-20T15:\d\d:\d\d\.\d{3}Z$/);
    expect(await gradeRows(s[0]!)).toEqual([
      {
        school_id: 'ATC1',
        source: 'tech_center',
        course_key: WELDING,
        term: 'S1',
        grade_type: 'semester',
        letter_grade: 'B',
        numeric_grade: 85,
        credits_earned: null,
        event_id: e.eventId,
      },
    ]);
  });

  it('a high school’s grade for its own course joins it: both sources on the report card', async () => {
    const e = grade({ course: ENGLISH }, [{ studentId: s[0], letterGrade: 'A' }]);
    expect((await postApplied(c.tokens.hs1, e)).status).toBe('applied');
    const grades = await reportCard(s[0]!);
    expect(grades.map((g) => [g.source, g.schoolId, g.title, g.letterGrade])).toEqual([
      ['high_school', 'HS1', 'English III', 'A'],
      ['tech_center', 'ATC1', 'Welding I', 'B'],
    ]);
    expect(grades.find((g) => g.source === 'high_school')).toMatchObject({
      courseCode: '230107',
      term: 'S1',
      gradeType: 'semester',
      numericGrade: null,
    });
    // The report card filters by school year and term.
    expect(await reportCard(s[0]!, `?schoolYear=${YEAR}&term=S2`)).toEqual([]);
    expect(await reportCard(s[0]!, `?schoolYear=${YEAR}&term=S1`)).toHaveLength(2);
  });

  it('a correction (later occurredAt, same natural key) replaces; an older one does not', async () => {
    const student = s[1]!;
    const first = grade({ ktsCourseNumber: WELDING }, [{ studentId: student, letterGrade: 'C' }], {
      occurredAt: '2027-01-15T12:00:00-05:00',
    });
    await postApplied(c.tokens.atc, first);
    const correction = grade(
      { ktsCourseNumber: WELDING },
      [{ studentId: student, letterGrade: 'B', numericGrade: 84 }],
      { occurredAt: '2027-01-16T12:00:00-05:00' },
    );
    expect((await postApplied(c.tokens.atc, correction)).status).toBe('applied');
    const older = grade({ ktsCourseNumber: WELDING }, [{ studentId: student, letterGrade: 'F' }], {
      occurredAt: '2027-01-14T12:00:00-05:00',
    });
    // It loses to the correction but is still applied (api.md: the later one stays in force).
    expect((await postApplied(c.tokens.atc, older)).status).toBe('applied');

    const grades = await reportCard(student);
    expect(grades).toHaveLength(1);
    expect(grades[0]).toMatchObject({ letterGrade: 'B', numericGrade: 84, source: 'tech_center' });
    const rows = await gradeRows(student);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      letter_grade: 'B',
      numeric_grade: 84,
      event_id: correction.eventId,
    });
  });

  it('at the same occurredAt the eventId decides, compared bytewise ("a" 0x61 beats "B" 0x42)', async () => {
    const student = s[3]!;
    const base = nextEventId('tie');
    const at = { occurredAt: '2027-01-17T12:00:00-05:00' };
    const lower = grade({ ktsCourseNumber: WELDING }, [{ studentId: student, letterGrade: 'A' }], {
      ...at,
      eventId: `${base}-a`,
    });
    const upper = grade({ ktsCourseNumber: WELDING }, [{ studentId: student, letterGrade: 'D' }], {
      ...at,
      eventId: `${base}-B`,
    });
    await postApplied(c.tokens.atc, lower);
    await postApplied(c.tokens.atc, upper);
    expect(await gradeRows(student)).toEqual([
      expect.objectContaining({ letter_grade: 'A', event_id: lower.eventId }),
    ]);
    expect((await reportCard(student)).map((g) => g.letterGrade)).toEqual(['A']);
  });
});

describe('grades that are refused', () => {
  it('a center grading a student not on its roster: not_on_roster, the rest applies', async () => {
    const offRoster = s[7]!;
    const e = grade({ ktsCourseNumber: WELDING }, [
      { studentId: s[2], letterGrade: 'A' },
      { studentId: offRoster, letterGrade: 'A' },
      { studentId: c.students.hs2[0], numericGrade: 90 },
    ]);
    const view = await postApplied(c.tokens.atc, e, 'partially_applied');
    expect(view.rejections).toEqual([
      {
        recordIndex: 1,
        studentId: offRoster,
        code: 'not_on_roster',
        message: msg.notOnRoster(offRoster, WELDING, YEAR),
      },
      {
        recordIndex: 2,
        studentId: c.students.hs2[0],
        code: 'not_on_roster',
        message: msg.notOnRoster(c.students.hs2[0]!, WELDING, YEAR),
      },
    ]);
    expect(await gradeRows(offRoster)).toEqual([]);
    expect(await gradeRows(c.students.hs2[0]!)).toEqual([]);
    expect(await gradeRows(s[2]!)).toHaveLength(1);

    // Every record refused: the event is rejected.
    const only = grade({ ktsCourseNumber: WELDING }, [{ studentId: offRoster, letterGrade: 'B' }]);
    const all = await postApplied(c.tokens.atc, only, 'rejected');
    expect(all.rejections.map((r) => [r.recordIndex, r.code])).toEqual([[0, 'not_on_roster']]);
    expect(await gradeRows(offRoster)).toEqual([]);
  });

  it('a section of another center is a 403 at the door, nothing stored', async () => {
    const e = grade({ ktsCourseNumber: 'CTC1-AUT-301' }, [{ studentId: s[0], letterGrade: 'A' }]);
    const err = await forbiddenAtTheDoor(c.tokens.atc, e, 'ATC1');
    expect(err.error.message).toMatch(/CTC1-AUT-301/);
  });

  it('a high school grading another school’s student: unknown_student', async () => {
    const other = c.students.hs2[1]!;
    const e = grade({ course: ENGLISH }, [
      { studentId: s[3], letterGrade: 'B' },
      { studentId: other, letterGrade: 'B' },
    ]);
    const view = await postApplied(c.tokens.hs1, e, 'partially_applied');
    expect(view.rejections).toEqual([
      {
        recordIndex: 1,
        studentId: other,
        code: 'unknown_student',
        message: msg.unknownStudent(other),
      },
    ]);
    expect(await gradeRows(other)).toEqual([]);
  });

  it('a high school sending ktsCourseNumber, or a center sending course: 403', async () => {
    await forbiddenAtTheDoor(
      c.tokens.hs1,
      grade({ ktsCourseNumber: WELDING }, [{ studentId: s[0], letterGrade: 'A' }]),
      'HS1',
    );
    await forbiddenAtTheDoor(
      c.tokens.atc,
      grade({ course: ENGLISH }, [{ studentId: s[0], letterGrade: 'A' }]),
      'ATC1',
    );
  });
});

describe('the transcript', () => {
  it('a semester grade of the 1-credit year-long section attempts 0.5; grading-period grades are absent', async () => {
    const student = s[4]!;
    await postApplied(
      c.tokens.atc,
      grade({ ktsCourseNumber: WELDING }, [{ studentId: student, letterGrade: 'A' }], {
        term: 'Q1',
        gradeType: 'grading_period',
      }),
    );
    await postApplied(
      c.tokens.atc,
      grade({ ktsCourseNumber: WELDING }, [{ studentId: student, letterGrade: 'B' }]),
    );
    expect(await transcript(student)).toEqual([
      {
        schoolYear: YEAR,
        courseCode: '480101',
        title: 'Welding I',
        term: 'S1',
        creditsAttempted: 0.5,
        creditsEarned: 0.5,
        finalGrade: 'B',
        earnedAt: ATC1_AT,
      },
    ]);
    // The grading-period grade is on the report card, just not on the transcript.
    expect((await reportCard(student)).map((g) => [g.term, g.gradeType])).toEqual([
      ['Q1', 'grading_period'],
      ['S1', 'semester'],
    ]);

    // A final FY grade replaces the semester entries of that course.
    await postApplied(
      c.tokens.atc,
      grade({ ktsCourseNumber: WELDING }, [{ studentId: student, letterGrade: 'B+' }], {
        term: 'FY',
        gradeType: 'final',
        occurredAt: '2027-01-18T12:00:00-05:00',
      }),
    );
    expect(await transcript(student)).toEqual([
      {
        schoolYear: YEAR,
        courseCode: '480101',
        title: 'Welding I',
        term: 'FY',
        creditsAttempted: 1,
        creditsEarned: 1,
        finalGrade: 'B+',
        earnedAt: ATC1_AT,
      },
    ]);
  });

  it('failing numeric 55 earns 0; an explicit creditsEarned is respected', async () => {
    const student = s[5]!;
    await postApplied(
      c.tokens.atc,
      grade({ ktsCourseNumber: WELDING }, [{ studentId: student, numericGrade: 55 }], {
        term: 'FY',
        gradeType: 'final',
      }),
    );
    await postApplied(
      c.tokens.hs1,
      grade({ course: ENGLISH }, [{ studentId: student, letterGrade: 'C', creditsEarned: 0.25 }], {
        term: 'FY',
        gradeType: 'final',
      }),
    );
    expect(await transcript(student)).toEqual([
      {
        schoolYear: YEAR,
        courseCode: '230107',
        title: 'English III',
        term: 'FY',
        creditsAttempted: 1,
        creditsEarned: 0.25,
        finalGrade: 'C',
        earnedAt: { schoolId: 'HS1', name: 'Bourbon County High', kind: 'high_school' },
      },
      {
        schoolYear: YEAR,
        courseCode: '480101',
        title: 'Welding I',
        term: 'FY',
        creditsAttempted: 1,
        creditsEarned: 0,
        finalGrade: '55',
        earnedAt: ATC1_AT,
      },
    ]);
  });

  it('a correction after posting is in the history as transcript / corrected with before and after', async () => {
    const student = s[5]!;
    const fix = grade({ ktsCourseNumber: WELDING }, [{ studentId: student, numericGrade: 72 }], {
      term: 'FY',
      gradeType: 'final',
      occurredAt: '2027-01-19T12:00:00-05:00',
    });
    await postApplied(c.tokens.atc, fix);
    const entries = (await history(student)).entries.filter((h) => h.eventId === fix.eventId);
    const mark = (numericGrade: number) => ({
      courseCode: '480101',
      title: 'Welding I',
      schoolYear: YEAR,
      term: 'FY',
      gradeType: 'final',
      letterGrade: null,
      numericGrade,
      creditsEarned: null,
    });
    expect(entries.find((h) => h.record === 'transcript')).toMatchObject({
      action: 'corrected',
      actor: { schoolId: 'ATC1', job: null },
      before: mark(55),
      after: mark(72),
      disclosedTo: null,
    });
    expect(entries.find((h) => h.record === 'grade')).toMatchObject({
      action: 'update',
      before: mark(55),
      after: mark(72),
      disclosedTo: 'HS1',
    });
    expect(entries).toHaveLength(2);
    const welding = (await transcript(student)).find((e) => e.courseCode === '480101');
    expect(welding).toMatchObject({ finalGrade: '72', creditsEarned: 1, creditsAttempted: 1 });
  });
});

describe('athletic eligibility', () => {
  it('HS passing + tech F: ineligible under the default rule; eligible once the rule allows one failing course', async () => {
    const student = s[6]!;
    await postApplied(
      c.tokens.hs1,
      grade({ course: ENGLISH }, [{ studentId: student, letterGrade: 'B' }]),
    );
    await postApplied(
      c.tokens.atc,
      grade({ ktsCourseNumber: WELDING }, [{ studentId: student, letterGrade: 'F' }]),
    );

    const before = await eligibility(student);
    expect(before.eligible).toBe(false);
    expect(before.passingCourses).toBe(1);
    expect(before.failingCourses).toBe(1);
    // Never set: exactly the default body.
    expect(before.rule).toStrictEqual({
      passingNumericGrade: 60,
      failingLetterGrades: ['F'],
      maxFailingCourses: 0,
      minPassingCourses: 0,
    });
    expect(before.reasons.some((r) => r.includes('Welding I') && r.includes('ATC1'))).toBe(true);
    expect(before.reasons).toContain(
      'Failing Welding I (480101) at Bourbon County ATC (ATC1) with F.',
    );
    expect(before.notChecked.length).toBeGreaterThan(0);
    expect(before.notChecked.every((x) => x.length > 0)).toBe(true);

    const body = {
      passingNumericGrade: 60,
      failingLetterGrades: ['F'],
      maxFailingCourses: 1,
      minPassingCourses: 0,
    };
    const put = await t.api('PUT', '/v1/schools/HS1/eligibility-rule', {
      token: c.tokens.hs1,
      body,
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(EligibilityRuleResponse.parse(put.body)).toStrictEqual(body);
    const stored = await t.db
      .selectFrom('eligibility_rules')
      .select([
        'passing_numeric_grade',
        'failing_letter_grades',
        'max_failing_courses',
        'min_passing_courses',
      ])
      .where('school_id', '=', 'HS1')
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({
      passing_numeric_grade: 60,
      failing_letter_grades: ['F'],
      max_failing_courses: 1,
      min_passing_courses: 0,
    });

    const after = await eligibility(student);
    expect(after.eligible).toBe(true);
    expect(after.passingCourses).toBe(1);
    expect(after.failingCourses).toBe(1);
    expect(after.rule).toStrictEqual(body);
    expect(after.notChecked.length).toBeGreaterThan(0);

    // Another term has no grades: eligible, with a reason saying none are posted.
    const s2 = await eligibility(student, 'S2');
    expect(s2).toMatchObject({ eligible: true, passingCourses: 0, failingCourses: 0 });
    expect(s2.reasons.join(' ')).toMatch(/No posted grades/);
  });

  it('a high school cannot set another school’s rule (403); HS2’s rule stays the default', async () => {
    const r = await t.api('PUT', '/v1/schools/HS2/eligibility-rule', {
      token: c.tokens.hs1,
      body: {
        passingNumericGrade: 50,
        failingLetterGrades: ['F'],
        maxFailingCourses: 3,
        minPassingCourses: 0,
      },
    });
    expect(r.status).toBe(403);
    expect(ErrorResponse.parse(r.body).error.code).toBe('forbidden');
    const rows = await t.db.selectFrom('eligibility_rules').select('school_id').execute();
    expect(rows).toEqual([{ school_id: 'HS1' }]);
  });
});

describe('disclosure of tech grades to the high school', () => {
  it('HS1 reading a report card with tech grades is recorded with disclosedTo HS1', async () => {
    const student = s[2]!;
    const disclosures = async () =>
      (await history(student)).entries.filter((h) => h.action === 'disclosed');
    expect(await disclosures()).toEqual([]);
    await reportCard(student);
    const after = await disclosures();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({
      record: 'grade',
      disclosedTo: 'HS1',
      eventId: null,
      actor: { schoolId: 'HS1', job: null },
      before: null,
      after: { shown: 'report card', from: ['ATC1'] },
    });
    expect(after[0]!.actor.credentialId).toEqual(expect.any(String));
    const rows = await t.db
      .selectFrom('history')
      .select(['record', 'disclosed_to'])
      .where('student_id', '=', student)
      .where('action', '=', 'disclosed')
      .execute();
    expect(rows).toEqual([{ record: 'grade', disclosed_to: 'HS1' }]);
  });

  it('another high school does not see the student (404), and a center may not read report cards (403)', async () => {
    const r = await t.api('GET', `/v1/students/${s[0]}/report-card`, { token: c.tokens.hs2 });
    expect(r.status).toBe(404);
    expect(ErrorResponse.parse(r.body).error.code).toBe('not_found');
    const atc = await t.api('GET', `/v1/students/${s[0]}/transcript`, { token: c.tokens.atc });
    expect(atc.status).toBe(403);
    expect(ErrorResponse.parse(atc.body).error.code).toBe('forbidden');
  });
});

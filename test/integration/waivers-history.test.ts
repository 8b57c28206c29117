import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestExchange, type TestExchange } from '../support/context.ts';
import {
  applied,
  attendance,
  enroll,
  nextEventId,
  NOW,
  seedCounty,
  steerableClock,
  YEAR,
  type County,
} from '../support/county.ts';
import type { Clock } from '../../shared/clock.ts';
import { rejectionMessage as msg } from '../../shared/domain/rejections.ts';
import {
  AttendanceReport,
  ErrorResponse,
  EventStatusResponse,
  HistoryResponse,
  RosterResponse,
  StudentResponse,
  WaiverList,
  WaiverResponse,
} from '../../producers/http/responses.ts';

const NEXT_YEAR = '2027-2028';

const opened: TestExchange[] = [];
afterAll(async () => {
  await Promise.all(opened.map((x) => x.close()));
});

async function open(clock: Clock): Promise<TestExchange> {
  const x = await startTestExchange({ clock });
  opened.push(x);
  return x;
}

async function postApplied(
  x: TestExchange,
  token: string,
  body: { eventId: string },
  status: 'applied' | 'partially_applied' | 'rejected' = 'applied',
) {
  const r = await x.api('POST', '/v1/events', { token, body });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const view = EventStatusResponse.parse(await applied(x, body.eventId, token));
  expect(view.status, JSON.stringify(view.rejections)).toBe(status);
  return view;
}

function expectError(r: { status: number; body: unknown }, status: number, code: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  const err = ErrorResponse.parse(r.body);
  expect(err.error.code).toBe(code);
  return err.error;
}

// ---------------------------------------------------------------------------------------------
// The main exchange: "today" is Wednesday, January 20, 2027 in Kentucky's eastern zone.

let t: TestExchange;
let c: County;
let ctc2Token: string;
const clock = steerableClock(NOW);

beforeAll(async () => {
  t = await open(clock);
  c = await seedCounty(t, { studentsPerSchool: 6 });
  const reg = await t.api('PUT', '/v1/schools/CTC2', {
    body: {
      name: 'Cynthiana Career Center',
      kind: 'ctc',
      districtId: 'D-049',
      timezone: 'America/New_York',
    },
  });
  expect(reg.status, JSON.stringify(reg.body)).toBe(200);
  const cred = await t.api('POST', '/v1/credentials', { body: { schoolId: 'CTC2' } });
  expect(cred.status).toBe(201);
  ctc2Token = String(cred.body.token);
});

const waiverRows = () =>
  t.db
    .selectFrom('waivers')
    .select(['school_id', 'school_year', 'status'])
    .orderBy('school_id')
    .orderBy('school_year')
    .execute();

describe('waivers', () => {
  let ctc1Waiver: string;
  let ctc2Waiver: string;

  it('a CTC asks in the window for the next school year: 201 with the waiver', async () => {
    const r = await t.api('POST', '/v1/waivers', {
      token: c.tokens.ctc,
      body: { schoolYear: NEXT_YEAR, reason: 'Local SIS migration during 2027-2028' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const w = WaiverResponse.parse(r.body);
    expect(w).toEqual({
      waiverId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      schoolId: 'CTC1',
      schoolYear: NEXT_YEAR,
      reason: 'Local SIS migration during 2027-2028',
      status: 'pending',
      requestedAt: expect.stringMatching(/^2027-01-20T15:\d\d:\d\d\.\d{3}Z$/),
      decidedAt: null,
    });
    ctc1Waiver = w.waiverId;
    expect(await waiverRows()).toEqual([
      { school_id: 'CTC1', school_year: NEXT_YEAR, status: 'pending' },
    ]);
  });

  it('refuses an ATC, a high school, the current year and a second request, each with 422', async () => {
    const ask = (token: string, schoolYear = NEXT_YEAR) =>
      t.api('POST', '/v1/waivers', { token, body: { schoolYear, reason: 'please' } });

    const atc = expectError(await ask(c.tokens.atc), 422, 'unprocessable');
    expect(atc.message).toMatch(/ATCs.*not eligible/);
    const hs = expectError(await ask(c.tokens.hs1), 422, 'unprocessable');
    expect(hs.message).toMatch(/Only CTCs/);
    const current = expectError(await ask(c.tokens.ctc, YEAR), 422, 'unprocessable');
    expect(current.message).toMatch(/next school year only.*2027-2028, not 2026-2027/);
    const later = expectError(await ask(c.tokens.ctc, '2028-2029'), 422, 'unprocessable');
    expect(later.message).toMatch(/next school year only/);
    const again = expectError(await ask(c.tokens.ctc), 422, 'unprocessable');
    expect(again.message).toMatch(/already asked.*one request per school and year/);
    // Nothing stored by any refusal.
    expect(await waiverRows()).toEqual([
      { school_id: 'CTC1', school_year: NEXT_YEAR, status: 'pending' },
    ]);
  });

  it('the state office files for a CTC with schoolId: 201; without schoolId: 400', async () => {
    const r = await t.api('POST', '/v1/waivers', {
      body: { schoolId: 'CTC2', schoolYear: NEXT_YEAR, reason: 'Filed by KDE on request' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const w = WaiverResponse.parse(r.body);
    expect(w).toMatchObject({ schoolId: 'CTC2', schoolYear: NEXT_YEAR, status: 'pending' });
    ctc2Waiver = w.waiverId;

    const missing = await t.api('POST', '/v1/waivers', {
      body: { schoolYear: NEXT_YEAR, reason: 'no school' },
    });
    expectError(missing, 400, 'validation_failed');

    // The state office cannot file for an ATC either.
    const atc = await t.api('POST', '/v1/waivers', {
      body: { schoolId: 'ATC1', schoolYear: NEXT_YEAR, reason: 'for the ATC' },
    });
    expect(expectError(atc, 422, 'unprocessable').message).toMatch(/ATCs.*not eligible/);
  });

  it('decisions: approved → 200, a second decision → 409, an unknown id → 404, a school → 403', async () => {
    const approve = await t.api('POST', `/v1/waivers/${ctc2Waiver}/decision`, {
      body: { decision: 'approved' },
    });
    expect(approve.status, JSON.stringify(approve.body)).toBe(200);
    const w = WaiverResponse.parse(approve.body);
    expect(w).toMatchObject({ waiverId: ctc2Waiver, schoolId: 'CTC2', status: 'approved' });
    expect(w.decidedAt).toMatch(/^2027-01-20T15:\d\d:\d\d\.\d{3}Z$/);

    const second = await t.api('POST', `/v1/waivers/${ctc2Waiver}/decision`, {
      body: { decision: 'denied' },
    });
    expectError(second, 409, 'conflict');
    const same = await t.api('POST', `/v1/waivers/${ctc2Waiver}/decision`, {
      body: { decision: 'approved' },
    });
    expectError(same, 409, 'conflict');

    expectError(
      await t.api('POST', `/v1/waivers/${randomUUID()}/decision`, {
        body: { decision: 'approved' },
      }),
      404,
      'not_found',
    );
    expectError(
      await t.api('POST', `/v1/waivers/${ctc1Waiver}/decision`, {
        token: c.tokens.ctc,
        body: { decision: 'approved' },
      }),
      403,
      'forbidden',
    );
    const row = await t.db
      .selectFrom('waivers')
      .select(['status', 'decided_at'])
      .where('id', '=', ctc2Waiver)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('approved');
    expect(row.decided_at?.toISOString()).toBe(w.decidedAt);
  });

  it('a denied request still counts: the CTC cannot ask again for that year', async () => {
    const deny = await t.api('POST', `/v1/waivers/${ctc1Waiver}/decision`, {
      body: { decision: 'denied' },
    });
    expect(deny.status).toBe(200);
    expect(WaiverResponse.parse(deny.body).status).toBe('denied');
    const again = await t.api('POST', '/v1/waivers', {
      token: c.tokens.ctc,
      body: { schoolYear: NEXT_YEAR, reason: 'asking again' },
    });
    expect(expectError(again, 422, 'unprocessable').message).toMatch(/a denied one counts/);
    expect(await waiverRows()).toEqual([
      { school_id: 'CTC1', school_year: NEXT_YEAR, status: 'denied' },
      { school_id: 'CTC2', school_year: NEXT_YEAR, status: 'approved' },
    ]);
  });

  it('GET /v1/waivers: the state office sees all, a CTC its own, an ATC or a high school 403', async () => {
    const all = await t.api('GET', '/v1/waivers');
    expect(all.status).toBe(200);
    const list = WaiverList.parse(all.body);
    expect(list.nextCursor).toBeNull();
    expect(list.waivers.map((w) => [w.waiverId, w.schoolId, w.status])).toEqual([
      [ctc1Waiver, 'CTC1', 'denied'],
      [ctc2Waiver, 'CTC2', 'approved'],
    ]);

    const own = WaiverList.parse((await t.api('GET', '/v1/waivers', { token: c.tokens.ctc })).body);
    expect(own.waivers.map((w) => w.waiverId)).toEqual([ctc1Waiver]);
    const own2 = WaiverList.parse((await t.api('GET', '/v1/waivers', { token: ctc2Token })).body);
    expect(own2.waivers.map((w) => w.waiverId)).toEqual([ctc2Waiver]);

    expectError(await t.api('GET', '/v1/waivers', { token: c.tokens.atc }), 403, 'forbidden');
    expectError(await t.api('GET', '/v1/waivers', { token: c.tokens.hs1 }), 403, 'forbidden');
    expectError(await t.api('GET', '/v1/waivers', { token: c.tokens.ops }), 403, 'forbidden');

    const next = WaiverList.parse((await t.api('GET', `/v1/waivers?schoolYear=${NEXT_YEAR}`)).body);
    expect(next.waivers).toHaveLength(2);
    const current = WaiverList.parse((await t.api('GET', `/v1/waivers?schoolYear=${YEAR}`)).body);
    expect(current).toEqual({ waivers: [], nextCursor: null });

    // Paged: one at a time, then the end.
    const p1 = WaiverList.parse((await t.api('GET', '/v1/waivers?limit=1')).body);
    expect(p1.waivers.map((w) => w.waiverId)).toEqual([ctc1Waiver]);
    expect(p1.nextCursor).not.toBeNull();
    const p2 = WaiverList.parse(
      (await t.api('GET', `/v1/waivers?limit=1&cursor=${encodeURIComponent(p1.nextCursor!)}`)).body,
    );
    expect(p2).toEqual({
      waivers: [expect.objectContaining({ waiverId: ctc2Waiver })],
      nextCursor: null,
    });
  });
});

describe('waivers outside the window', () => {
  it('March 2 in the school’s zone is refused with a message naming the window; March 1, 23:30 there is not', async () => {
    const late = steerableClock('2027-03-02T12:00:00Z');
    const x = await open(late);
    const reg = await x.api('PUT', '/v1/schools/CTC1', {
      body: {
        name: 'Paris Career Center',
        kind: 'ctc',
        districtId: 'D-017',
        timezone: 'America/New_York',
      },
    });
    expect(reg.status).toBe(200);
    const token = String(
      (await x.api('POST', '/v1/credentials', { body: { schoolId: 'CTC1' } })).body.token,
    );

    const r = await x.api('POST', '/v1/waivers', {
      token,
      body: { schoolYear: NEXT_YEAR, reason: 'too late' },
    });
    const err = expectError(r, 422, 'unprocessable');
    expect(err.message).toBe(
      'Waiver requests are taken January 1 through March 1; today (2027-03-02) is outside that window.',
    );
    expect(await x.db.selectFrom('waivers').select('id').execute()).toEqual([]);

    // 04:30Z on March 2 is 23:30 on March 1 in Kentucky's eastern zone: still in the window.
    late.set('2027-03-02T04:30:00Z');
    const ok = await x.api('POST', '/v1/waivers', {
      token,
      body: { schoolYear: NEXT_YEAR, reason: 'just in time' },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(WaiverResponse.parse(ok.body)).toMatchObject({ schoolId: 'CTC1', status: 'pending' });
  });
});

describe('an approved waiver for the current school year', () => {
  let w: TestExchange;
  let wc: County;

  beforeAll(async () => {
    w = await open(steerableClock(NOW));
    wc = await seedCounty(w, { studentsPerSchool: 3 });
    const [s1] = wc.students.hs1;
    // Scheduled before the waiver was approved.
    await postApplied(w, wc.tokens.hs1, enroll(s1!, wc.sections.ctcAuto));
    await postApplied(w, wc.tokens.hs1, enroll(s1!, wc.sections.atcWelding));
    // The API only takes next-year requests, so the current year's approval goes in directly.
    await w.db
      .insertInto('waivers')
      .values({
        school_id: 'CTC1',
        school_year: YEAR,
        reason: 'approved last spring',
        status: 'approved',
        requested_at: new Date('2026-02-10T15:00:00Z'),
        decided_at: new Date('2026-03-15T15:00:00Z'),
      })
      .execute();
  });

  it('CTC1 attendance for its section: every record rejected waived, nothing written', async () => {
    const [s1, s2] = wc.students.hs1 as [string, string];
    const e = attendance(wc.sections.ctcAuto, '2027-01-19', [
      { studentId: s1, status: 'present' },
      { studentId: s2, status: 'absent', excuse: 'unknown' },
    ]);
    const view = await postApplied(w, wc.tokens.ctc, e, 'rejected');
    expect(view.rejections).toEqual([
      { recordIndex: 0, studentId: s1, code: 'waived', message: msg.waived('CTC1', YEAR) },
      { recordIndex: 1, studentId: s2, code: 'waived', message: msg.waived('CTC1', YEAR) },
    ]);
    const rows = await w.db
      .selectFrom('attendance')
      .select('student_id')
      .where('kts_course_number', '=', wc.sections.ctcAuto)
      .execute();
    expect(rows).toEqual([]);
  });

  it('HS1 enrolling a student into CTC1-AUT-301: waived, no roster span', async () => {
    const s2 = wc.students.hs1[1]!;
    const view = await postApplied(w, wc.tokens.hs1, enroll(s2, wc.sections.ctcAuto), 'rejected');
    expect(view.rejections).toEqual([
      { recordIndex: 0, studentId: s2, code: 'waived', message: msg.waived('CTC1', YEAR) },
    ]);
    const spans = await w.db
      .selectFrom('roster_spans')
      .select('student_id')
      .where('kts_course_number', '=', wc.sections.ctcAuto)
      .where('student_id', '=', s2)
      .execute();
    expect(spans).toEqual([]);

    // unknown_student is checked before waived: another school's student is unknown, not waived.
    const other = wc.students.hs2[0]!;
    const view2 = await postApplied(
      w,
      wc.tokens.hs1,
      enroll(other, wc.sections.ctcAuto),
      'rejected',
    );
    expect(view2.rejections.map((r) => [r.code, r.studentId])).toEqual([
      ['unknown_student', other],
    ]);
  });

  it('CTC1 grades are waived too', async () => {
    const s1 = wc.students.hs1[0]!;
    const e = {
      type: 'grade-finalized',
      eventId: nextEventId('grd'),
      occurredAt: '2027-01-15T12:00:00-05:00',
      schoolYear: YEAR,
      term: 'S1',
      gradeType: 'semester',
      ktsCourseNumber: wc.sections.ctcAuto,
      records: [{ studentId: s1, letterGrade: 'A' }],
    };
    const view = await postApplied(w, wc.tokens.ctc, e, 'rejected');
    expect(view.rejections).toEqual([
      { recordIndex: 0, studentId: s1, code: 'waived', message: msg.waived('CTC1', YEAR) },
    ]);
    expect(await w.db.selectFrom('grades').select('student_id').execute()).toEqual([]);
  });

  it('ATC1 attendance and enrollment still apply', async () => {
    const [s1, s2] = wc.students.hs1 as [string, string];
    await postApplied(w, wc.tokens.hs1, enroll(s2, wc.sections.atcWelding));
    const e = attendance(wc.sections.atcWelding, '2027-01-19', [
      { studentId: s1, status: 'absent', excuse: 'unknown' },
      { studentId: s2, status: 'present' },
    ]);
    const view = await postApplied(w, wc.tokens.atc, e);
    expect(view.rejections).toEqual([]);
    const rows = await w.db
      .selectFrom('attendance')
      .select(['student_id', 'status', 'event_id'])
      .where('kts_course_number', '=', wc.sections.atcWelding)
      .orderBy('student_id')
      .execute();
    expect(rows).toEqual([
      { student_id: s1, status: 'absent', event_id: e.eventId },
      { student_id: s2, status: 'present', event_id: e.eventId },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

const coding = (
  studentId: string,
  date: string,
  period: number,
  over: Record<string, unknown> = {},
) => ({
  type: 'attendance-coded',
  eventId: nextEventId('cod'),
  occurredAt: `${date}T11:00:00-05:00`,
  studentId,
  date,
  period,
  excuse: 'excused',
  code: 'EXC',
  ...over,
});

const hsRows = (studentId: string) =>
  t.db
    .selectFrom('hs_attendance')
    .select([
      'date',
      'period',
      'home_school_id',
      'status',
      'excuse',
      'code',
      'source',
      'coded_event_id',
    ])
    .where('student_id', '=', studentId)
    .orderBy('date')
    .orderBy('period')
    .execute();

async function historyOf(studentId: string, query = '', token = c.tokens.hs1) {
  const r = await t.api('GET', `/v1/students/${studentId}/history${query}`, { token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return HistoryResponse.parse(r.body);
}

describe('attendance-coded', () => {
  it('HS1 codes period 2 of its student: applied, a high_school row, a history entry', async () => {
    const s = c.students.hs1[0]!;
    const e = coding(s, '2027-01-19', 2);
    const view = await postApplied(t, c.tokens.hs1, e);
    expect(view).toMatchObject({ schoolId: 'HS1', type: 'attendance-coded', rejections: [] });
    expect(await hsRows(s)).toEqual([
      {
        date: '2027-01-19',
        period: 2,
        home_school_id: 'HS1',
        status: null,
        excuse: 'excused',
        code: 'EXC',
        source: 'high_school',
        coded_event_id: e.eventId,
      },
    ]);
    const h = (await historyOf(s)).entries.filter((x) => x.eventId === e.eventId);
    expect(h).toEqual([
      {
        at: expect.any(String),
        actor: { schoolId: 'HS1', credentialId: expect.any(String), job: null },
        eventId: e.eventId,
        record: 'attendance',
        action: 'coded',
        before: null,
        after: { date: '2027-01-19', period: 2, excuse: 'excused', code: 'EXC' },
        disclosedTo: null,
      },
    ]);
  });

  it('another school’s student: unknown_student; a holiday: not_instructional_day; tomorrow: future_date', async () => {
    const other = c.students.hs2[0]!;
    const s = c.students.hs1[1]!;
    const cases = [
      [coding(other, '2027-01-19', 2), other, 'unknown_student', msg.unknownStudent(other)],
      [
        coding(s, '2027-01-18', 2),
        s,
        'not_instructional_day',
        msg.notInstructionalDay('2027-01-18', YEAR, "this high school's"),
      ],
      [
        coding(s, '2027-01-21', 2, { occurredAt: '2027-01-20T09:00:00-05:00' }),
        s,
        'future_date',
        msg.futureDate('2027-01-21', '2027-01-20', "this high school's"),
      ],
    ] as const;
    for (const [e, studentId, code, message] of cases) {
      const view = await postApplied(t, c.tokens.hs1, e, 'rejected');
      expect(view.rejections).toEqual([{ recordIndex: 0, studentId, code, message }]);
    }
    expect(await hsRows(other)).toEqual([]);
    expect(await hsRows(s)).toEqual([]);
  });

  it('the later coding wins whatever the arrival order', async () => {
    const s = c.students.hs1[2]!;
    const later = coding(s, '2027-01-19', 3, {
      occurredAt: '2027-01-19T14:00:00-05:00',
      excuse: 'unexcused',
      code: 'UNX',
    });
    const earlier = coding(s, '2027-01-19', 3, {
      occurredAt: '2027-01-19T10:00:00-05:00',
      excuse: 'excused',
      code: 'EXC',
    });
    await postApplied(t, c.tokens.hs1, later);
    // The earlier one arrives second; it is applied but loses.
    await postApplied(t, c.tokens.hs1, earlier);
    expect(await hsRows(s)).toEqual([
      expect.objectContaining({
        period: 3,
        excuse: 'unexcused',
        code: 'UNX',
        source: 'high_school',
        coded_event_id: later.eventId,
      }),
    ]);
    const coded = (await historyOf(s)).entries.filter((x) => x.action === 'coded');
    expect(coded.map((x) => x.eventId)).toEqual([later.eventId]);

    // Same occurredAt: the eventId decides, bytewise ("a" 0x61 beats "B" 0x42), whatever the order.
    const base = nextEventId('tie');
    const tie = { occurredAt: '2027-01-19T16:00:00-05:00' };
    const lowerA = coding(s, '2027-01-19', 4, { ...tie, eventId: `${base}-a`, code: 'LOWA' });
    const upperB = coding(s, '2027-01-19', 4, { ...tie, eventId: `${base}-B`, code: 'UPB' });
    await postApplied(t, c.tokens.hs1, lowerA);
    await postApplied(t, c.tokens.hs1, upperB);
    expect((await hsRows(s)).find((r) => r.period === 4)).toMatchObject({
      code: 'LOWA',
      coded_event_id: lowerA.eventId,
    });

    // And a still later one replaces it, with before/after.
    const latest = coding(s, '2027-01-19', 3, {
      occurredAt: '2027-01-20T08:00:00-05:00',
      excuse: 'exempt',
      code: 'CLS',
    });
    await postApplied(t, c.tokens.hs1, latest);
    expect((await hsRows(s))[0]).toMatchObject({
      excuse: 'exempt',
      code: 'CLS',
      coded_event_id: latest.eventId,
    });
    const last = (await historyOf(s)).entries.filter((x) => x.eventId === latest.eventId);
    expect(last).toEqual([
      expect.objectContaining({
        record: 'attendance',
        action: 'coded',
        before: { date: '2027-01-19', period: 3, excuse: 'unexcused', code: 'UNX' },
        after: { date: '2027-01-19', period: 3, excuse: 'exempt', code: 'CLS' },
      }),
    ]);
  });
});

describe('history', () => {
  it('the state office moves a student HS1 → HS2: 200, a move entry, HS2 sees the student and HS1 gets 404', async () => {
    const s = c.students.hs1[3]!;
    const r = await t.api('PUT', `/v1/students/${s}`, {
      body: { homeSchoolId: 'HS2', firstName: 'First3', lastName: 'Last3', gradeLevel: 11 },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(StudentResponse.parse(r.body)).toEqual({
      studentId: s,
      homeSchoolId: 'HS2',
      firstName: 'First3',
      lastName: 'Last3',
      gradeLevel: 11,
    });

    const h = await historyOf(s, '', c.tokens.hs2);
    const students = h.entries.filter((x) => x.record === 'student');
    expect(students.map((x) => x.action)).toEqual(['create', 'move']);
    expect(students[1]).toMatchObject({
      actor: { schoolId: null, job: null },
      eventId: null,
      before: { homeSchoolId: 'HS1', gradeLevel: 11 },
      after: { homeSchoolId: 'HS2', gradeLevel: 11 },
      disclosedTo: null,
    });

    const seen = await t.api('GET', `/v1/students/${s}`, { token: c.tokens.hs2 });
    expect(seen.status).toBe(200);
    expect(StudentResponse.parse(seen.body).homeSchoolId).toBe('HS2');
    expectError(await t.api('GET', `/v1/students/${s}`, { token: c.tokens.hs1 }), 404, 'not_found');
    expectError(
      await t.api('GET', `/v1/students/${s}/history`, { token: c.tokens.hs1 }),
      404,
      'not_found',
    );
    // A center or ops never reads a student's history.
    for (const token of [c.tokens.atc, c.tokens.ops]) {
      expectError(await t.api('GET', `/v1/students/${s}/history`, { token }), 403, 'forbidden');
    }
    const row = await t.db
      .selectFrom('students')
      .select('home_school_id')
      .where('id', '=', s)
      .executeTakeFirstOrThrow();
    expect(row.home_school_id).toBe('HS2');
  });

  it('HS1’s PUT of a student homed at HS2: 409, nothing changed', async () => {
    const s = c.students.hs2[1]!;
    const before = (await historyOf(s, '?limit=1000', c.tokens.hs2)).entries.length;
    const r = await t.api('PUT', `/v1/students/${s}`, {
      token: c.tokens.hs1,
      body: { homeSchoolId: 'HS1', firstName: 'Taken', lastName: 'Over', gradeLevel: 12 },
    });
    const err = expectError(r, 409, 'conflict');
    expect(err.message).toMatch(/state office moves students/);
    const row = await t.db
      .selectFrom('students')
      .select(['home_school_id', 'first_name', 'grade_level'])
      .where('id', '=', s)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ home_school_id: 'HS2', first_name: 'First501', grade_level: 11 });
    expect((await historyOf(s, '?limit=1000', c.tokens.hs2)).entries.length).toBe(before);
  });

  it('attendance changes (create, then update with before/after) and the two kinds of disclosure', async () => {
    const s = c.students.hs1[4]!;
    const en = enroll(s, c.sections.atcWelding);
    await postApplied(t, c.tokens.hs1, en);
    const first = attendance(c.sections.atcWelding, '2027-01-19', [
      { studentId: s, status: 'absent', excuse: 'unknown' },
    ]);
    await postApplied(t, c.tokens.atc, first);
    const fix = attendance(
      c.sections.atcWelding,
      '2027-01-19',
      [{ studentId: s, status: 'absent', excuse: 'excused', code: 'EXC' }],
      { occurredAt: '2027-01-19T15:30:00-05:00' },
    );
    await postApplied(t, c.tokens.atc, fix);

    const state = (excuse: string, code: string | null) => ({
      ktsCourseNumber: c.sections.atcWelding,
      date: '2027-01-19',
      status: 'absent',
      excuse,
      code,
      minutesAbsent: null,
    });
    const changes = (await historyOf(s)).entries.filter(
      (x) => x.record === 'attendance' && x.action !== 'disclosed',
    );
    expect(changes).toEqual([
      expect.objectContaining({
        eventId: first.eventId,
        action: 'create',
        actor: { schoolId: 'ATC1', credentialId: expect.any(String), job: null },
        before: null,
        after: state('unknown', null),
      }),
      expect.objectContaining({
        eventId: fix.eventId,
        action: 'update',
        before: state('unknown', null),
        after: state('excused', 'EXC'),
      }),
    ]);

    // ATC1 reads its roster: a disclosure to ATC1 of the student it sees.
    const roster = await t.api(
      'GET',
      `/v1/tech-centers/ATC1/rosters/${YEAR}/${c.sections.atcWelding}`,
      { token: c.tokens.atc },
    );
    expect(roster.status).toBe(200);
    expect(RosterResponse.parse(roster.body).students.map((x) => x.studentId)).toEqual([s]);
    // HS1 reads the real-time report: a disclosure to HS1.
    const report = await t.api('GET', '/v1/high-schools/HS1/attendance?date=2027-01-19', {
      token: c.tokens.hs1,
    });
    expect(report.status).toBe(200);
    expect(AttendanceReport.parse(report.body).rows).toEqual([
      expect.objectContaining({ studentId: s, excuse: 'excused', code: 'EXC' }),
    ]);

    // The state office reading the same roster is not a disclosure to another school.
    const adminRead = await t.api(
      'GET',
      `/v1/tech-centers/ATC1/rosters/${YEAR}/${c.sections.atcWelding}`,
    );
    expect(adminRead.status).toBe(200);
    const disclosures = (await historyOf(s)).entries.filter((x) => x.action === 'disclosed');
    expect(disclosures).toEqual([
      expect.objectContaining({
        record: 'enrollment',
        disclosedTo: 'ATC1',
        actor: { schoolId: 'ATC1', credentialId: expect.any(String), job: null },
        after: { shown: 'roster', ktsCourseNumber: c.sections.atcWelding, schoolYear: YEAR },
      }),
      expect.objectContaining({
        record: 'attendance',
        disclosedTo: 'HS1',
        eventId: fix.eventId,
        actor: { schoolId: 'HS1', credentialId: expect.any(String), job: null },
        after: {
          shown: 'attendance report',
          date: '2027-01-19',
          ktsCourseNumber: c.sections.atcWelding,
          techSchoolId: 'ATC1',
        },
      }),
    ]);
    const stored = await t.db
      .selectFrom('history')
      .select(['record', 'disclosed_to'])
      .where('student_id', '=', s)
      .where('action', '=', 'disclosed')
      .orderBy('id')
      .execute();
    expect(stored).toEqual([
      { record: 'enrollment', disclosed_to: 'ATC1' },
      { record: 'attendance', disclosed_to: 'HS1' },
    ]);
  });

  describe('from/to and paging', () => {
    const s = () => c.students.hs1[5]!;
    const nursing = () => `/v1/tech-centers/ATC1/rosters/${YEAR}/${c.sections.atcNursing}`;
    const atDay: Record<string, string> = {};

    beforeAll(async () => {
      await postApplied(t, c.tokens.hs1, enroll(s(), c.sections.atcNursing));
      // Roster reads on other days: each is a disclosure stamped with the clock's instant.
      for (const [label, at] of [
        ['jan12', '2027-01-12T15:00:00.000Z'],
        // 23:30 on January 19 in Kentucky's eastern zone.
        ['jan19', '2027-01-20T04:30:00.000Z'],
        ['jan21', '2027-01-21T15:00:00.000Z'],
      ] as const) {
        clock.set(at);
        const r = await t.api('GET', nursing(), { token: c.tokens.atc });
        expect(r.status).toBe(200);
        atDay[label] = at;
      }
      clock.set(NOW);
    });

    const ats = async (query: string) =>
      (await historyOf(s(), query)).entries.map(
        (x) => `${x.record}/${x.action}@${x.at.slice(0, 10)}`,
      );

    it('from and to are inclusive dates in the home school’s calendar', async () => {
      const all = (await historyOf(s(), '?limit=1000')).entries;
      expect(all.map((x) => `${x.record}/${x.action}`)).toEqual([
        'student/create',
        'enrollment/add',
        'enrollment/disclosed',
        'enrollment/disclosed',
        'enrollment/disclosed',
      ]);
      // The clock runs on from where it was set: compare to the second.
      const disclosedAt = all.filter((x) => x.action === 'disclosed').map((x) => x.at.slice(0, 19));
      expect(disclosedAt).toEqual(
        [atDay.jan12, atDay.jan19, atDay.jan21].map((a) => a!.slice(0, 19)),
      );

      // 04:30Z on the 20th is the 19th in the school's zone.
      expect(await ats('?from=2027-01-19&to=2027-01-19')).toEqual([
        'enrollment/disclosed@2027-01-20',
      ]);
      expect(await ats('?from=2027-01-12&to=2027-01-12')).toEqual([
        'enrollment/disclosed@2027-01-12',
      ]);
      expect(await ats('?from=2027-01-13&to=2027-01-18')).toEqual([]);
      expect(await ats('?to=2027-01-19')).toEqual([
        'enrollment/disclosed@2027-01-12',
        'enrollment/disclosed@2027-01-20',
      ]);
      expect(await ats('?from=2027-01-20')).toEqual([
        'student/create@2027-01-20',
        'enrollment/add@2027-01-20',
        'enrollment/disclosed@2027-01-21',
      ]);
      expect(await ats('?from=2027-01-20&to=2027-01-20')).toEqual([
        'student/create@2027-01-20',
        'enrollment/add@2027-01-20',
      ]);
      expect(await ats('?from=2027-01-12&to=2027-01-21')).toHaveLength(5);
    });

    it('limit=2 pages until nextCursor is null: no duplicates, no gaps', async () => {
      const full = (await historyOf(s(), '?limit=1000')).entries;
      expect(full.length).toBe(5);
      const paged: typeof full = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await historyOf(s(), q);
        pages++;
        expect(page.entries.length).toBeLessThanOrEqual(2);
        expect(page.entries.length).toBeGreaterThan(0);
        paged.push(...page.entries);
        cursor = page.nextCursor;
      } while (cursor !== null && pages < 10);
      expect(cursor).toBeNull();
      expect(pages).toBe(3);
      expect(paged).toEqual(full);
      expect(new Set(paged.map((x) => JSON.stringify(x))).size).toBe(full.length);

      // Paging composes with a date filter.
      const f1 = await historyOf(s(), '?limit=2&to=2027-01-19');
      expect(f1.entries).toHaveLength(2);
      expect(f1.nextCursor).toBeNull();
    });
  });
});

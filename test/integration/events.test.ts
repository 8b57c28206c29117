import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestExchange } from '../support/context.ts';
import {
  applied,
  attendance,
  enroll,
  nextEventId,
  seededExchange,
  studentIdFor,
  YEAR,
  type County,
} from '../support/county.ts';

let t: TestExchange;
let c: County;

beforeAll(async () => {
  ({ t, c } = await seededExchange());
});
afterAll(async () => t?.close());

type Detail = { path: string; message: string };

function expectError(r: { status: number; body: unknown }, status: number, code: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body).toEqual({
    error: { code, message: expect.any(String), details: expect.any(Array) },
  });
  const err = (r.body as { error: { message: string; details: Detail[] } }).error;
  expect(err.message.length).toBeGreaterThan(0);
  for (const d of err.details)
    expect(d).toEqual({ path: expect.any(String), message: expect.any(String) });
  return err;
}

/** Reverse the key order of an object, recursively (arrays keep their order). */
function shuffled(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shuffled);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .reverse()
        .map(([k, x]) => [k, shuffled(x)]),
    );
  return v;
}

const eventRows = (schoolId: string, eventId: string) =>
  t.db
    .selectFrom('events')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('event_id', '=', eventId)
    .execute();

const spansOf = (studentId: string, kts: string) =>
  t.db
    .selectFrom('roster_spans')
    .selectAll()
    .where('student_id', '=', studentId)
    .where('kts_course_number', '=', kts)
    .where('school_year', '=', YEAR)
    .execute();

const attendanceOf = (studentId: string, kts: string, date: string) =>
  t.db
    .selectFrom('attendance')
    .selectAll()
    .where('student_id', '=', studentId)
    .where('kts_course_number', '=', kts)
    .where('date', '=', date)
    .execute();

describe('POST /v1/events: durable intake and idempotency', () => {
  // hs1[0] in ATC welding: enrollment then attendance on Tuesday 2027-01-19.
  const enr = () => enroll(c.students.hs1[0]!, c.sections.atcWelding);
  let enrollment: ReturnType<typeof enroll>;
  let att: ReturnType<typeof attendance>;

  it('answers 202 only once the event row is committed', async () => {
    enrollment = enr();
    const r = await t.api('POST', '/v1/events', { token: c.tokens.hs1, body: enrollment });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ eventId: enrollment.eventId, status: 'pending' });
    // Right after the answer, on a separate connection: the row is there.
    const rows = await eventRows('HS1', enrollment.eventId);
    expect(rows).toHaveLength(1);
    expect(['pending', 'applied', 'partially_applied', 'rejected']).toContain(rows[0]!.status);
    expect(rows[0]).toMatchObject({
      school_id: 'HS1',
      event_id: enrollment.eventId,
      type: 'enrollment-changed',
      record_count: 1,
    });
    expect(rows[0]!.occurred_at.toISOString()).toBe('2027-01-04T13:00:00.000Z');
    expect((await applied(t, enrollment.eventId, c.tokens.hs1)).status).toBe('applied');
  });

  it('the same enrollment again is 200 with the event view and no second effect', async () => {
    const view = await t.api('GET', `/v1/events/${enrollment.eventId}`, { token: c.tokens.hs1 });
    expect(view.status).toBe(200);
    expect(view.body).toEqual({
      eventId: enrollment.eventId,
      schoolId: 'HS1',
      type: 'enrollment-changed',
      status: 'applied',
      receivedAt: expect.stringMatching(/Z$/),
      appliedAt: expect.stringMatching(/Z$/),
      rejections: [],
    });
    const variants = [
      enrollment,
      shuffled(enrollment),
      { ...(shuffled(enrollment) as object), occurredAt: '2027-01-04T13:00:00Z' },
      { ...enrollment, occurredAt: '2027-01-04T14:00:00.000+01:00' },
    ];
    for (const body of variants) {
      const again = await t.api('POST', '/v1/events', { token: c.tokens.hs1, body });
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body).toEqual(view.body);
    }
    expect(await eventRows('HS1', enrollment.eventId)).toHaveLength(1);
    const spans = await spansOf(c.students.hs1[0]!, c.sections.atcWelding);
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ start_date: '2027-01-04', end_date: null });
    const actions = await t.db
      .selectFrom('enrollment_actions')
      .selectAll()
      .where('student_id', '=', c.students.hs1[0]!)
      .execute();
    expect(actions).toHaveLength(1);
  });

  it('the same attendance again is 200 with no second attendance row', async () => {
    att = attendance(c.sections.atcWelding, '2027-01-19', [
      { studentId: c.students.hs1[0], status: 'absent', excuse: 'unknown', minutesAbsent: 55 },
    ]);
    const first = await t.api('POST', '/v1/events', { token: c.tokens.atc, body: att });
    expect(first.status).toBe(202);
    expect((await applied(t, att.eventId, c.tokens.atc)).status).toBe('applied');
    const view = await t.api('GET', `/v1/events/${att.eventId}`, { token: c.tokens.atc });
    expect(view.status).toBe(200);
    for (const body of [
      shuffled(att),
      { ...(shuffled(att) as object), occurredAt: '2027-01-19T14:10:00.000Z' },
      { ...att, occurredAt: '2027-01-19T08:10:00-06:00' },
    ]) {
      const again = await t.api('POST', '/v1/events', { token: c.tokens.atc, body });
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body).toEqual(view.body);
    }
    expect(await eventRows('ATC1', att.eventId)).toHaveLength(1);
    const rows = await attendanceOf(c.students.hs1[0]!, c.sections.atcWelding, '2027-01-19');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'absent',
      excuse: 'unknown',
      minutes_absent: 55,
      event_id: att.eventId,
    });
  });

  it('the same eventId with a different body is 409 and changes nothing', async () => {
    const [before] = await eventRows('ATC1', att.eventId);
    const changed = {
      ...att,
      records: [{ studentId: c.students.hs1[0], status: 'present' }],
    };
    expectError(
      await t.api('POST', '/v1/events', { token: c.tokens.atc, body: changed }),
      409,
      'conflict',
    );
    const laterInstant = { ...att, occurredAt: '2027-01-19T09:10:01-05:00' };
    expectError(
      await t.api('POST', '/v1/events', { token: c.tokens.atc, body: laterInstant }),
      409,
      'conflict',
    );
    const after = await eventRows('ATC1', att.eventId);
    expect(after).toEqual([before]);
    const rows = await attendanceOf(c.students.hs1[0]!, c.sections.atcWelding, '2027-01-19');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'absent', excuse: 'unknown', event_id: att.eventId });
    // An enrollment's conflicting repeat leaves the roster as it was, too.
    expectError(
      await t.api('POST', '/v1/events', {
        token: c.tokens.hs1,
        body: { ...enrollment, hsPeriods: [4] },
      }),
      409,
      'conflict',
    );
    const spans = await spansOf(c.students.hs1[0]!, c.sections.atcWelding);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.hs_periods).toEqual([1, 2, 3]);
  });
});

describe('POST /v1/events: schema errors store nothing', () => {
  const tried: string[] = [];
  const s = () => c.students.hs1[1]!;
  const base = (records: object[], over: Record<string, unknown> = {}) => {
    const e = attendance(c.sections.atcWelding, '2027-01-19', records, over);
    tried.push(e.eventId);
    return e;
  };
  const post400 = async (body: unknown, path: string) => {
    const r = await t.api('POST', '/v1/events', { token: c.tokens.atc, body });
    const err = expectError(r, 400, 'validation_failed');
    expect(err.details.map((d) => d.path)).toContain(path);
    expect(err.details.find((d) => d.path === path)!.message.length).toBeGreaterThan(0);
    return err;
  };

  it('a bad status names records.1.status', async () => {
    await post400(
      base([
        { studentId: s(), status: 'present' },
        { studentId: c.students.hs1[2], status: 'gone', excuse: 'unknown' },
      ]),
      'records.1.status',
    );
  });

  it('a missing excuse for absent names records.0.excuse', async () => {
    await post400(base([{ studentId: s(), status: 'absent' }]), 'records.0.excuse');
  });

  it('an excuse on a present record names records.0.excuse', async () => {
    await post400(
      base([{ studentId: s(), status: 'present', excuse: 'excused' }]),
      'records.0.excuse',
    );
  });

  it('an unknown field names the field', async () => {
    await post400(base([{ studentId: s(), status: 'present' }], { color: 'red' }), 'color');
    await post400(
      base([{ studentId: s(), status: 'present', teacher: 'Smith' }]),
      'records.0.teacher',
    );
  });

  it('an impossible date is refused', async () => {
    const err = await post400(
      base([{ studentId: s(), status: 'present' }], { date: '2027-02-30' }),
      'date',
    );
    expect(err.message).toContain('date');
  });

  it('a 9-digit studentId is refused', async () => {
    await post400(base([{ studentId: '123456789', status: 'present' }]), 'records.0.studentId');
  });

  it('501 records are refused', async () => {
    const records = Array.from({ length: 501 }, (_, i) => ({
      studentId: studentIdFor(10_000 + i),
      status: 'present',
    }));
    await post400(base(records), 'records');
  });

  it('500 records pass the schema', async () => {
    // The boundary: 500 records of unknown students are stored, and each is rejected on its own.
    const records = Array.from({ length: 500 }, (_, i) => ({
      studentId: studentIdFor(20_000 + i),
      status: 'present',
    }));
    const e = attendance(c.sections.atcWelding, '2027-01-19', records);
    const r = await t.api('POST', '/v1/events', { token: c.tokens.atc, body: e });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const view = await applied(t, e.eventId, c.tokens.atc, 20_000);
    expect(view.status).toBe('rejected');
    expect(view.rejections).toHaveLength(500);
  });

  it('a studentId twice in one event is refused at the repeat', async () => {
    await post400(
      base([
        { studentId: s(), status: 'present' },
        { studentId: s(), status: 'absent', excuse: 'unknown' },
      ]),
      'records.1',
    );
  });

  it('an eventId with ":" is refused', async () => {
    const e = base([{ studentId: s(), status: 'present' }]);
    const bad = { ...e, eventId: `x:${e.eventId}` };
    tried.push(bad.eventId);
    await post400(bad, 'eventId');
  });

  it('an unknown type names type', async () => {
    await post400(
      base([{ studentId: s(), status: 'present' }], { type: 'attendance-deleted' }),
      'type',
    );
  });

  it('malformed JSON is 400', async () => {
    const e = base([{ studentId: s(), status: 'present' }]);
    const text = JSON.stringify(e).slice(0, -5);
    const r = await t.api('POST', '/v1/events', { token: c.tokens.atc, body: text });
    expectError(r, 400, 'validation_failed');
  });

  it('a text/plain body is 400', async () => {
    const e = base([{ studentId: s(), status: 'present' }]);
    const r = await t.api('POST', '/v1/events', {
      token: c.tokens.atc,
      body: JSON.stringify(e),
      headers: { 'content-type': 'text/plain' },
    });
    expectError(r, 400, 'validation_failed');
  });

  it('a body over 1 MiB is 413 payload_too_large', async () => {
    const e = base([{ studentId: s(), status: 'present' }], {
      padding: 'x'.repeat(1024 * 1024 + 10),
    });
    const r = await t.api('POST', '/v1/events', { token: c.tokens.atc, body: e });
    expectError(r, 413, 'payload_too_large');
  });

  it('none of them reached the events table', async () => {
    expect(tried.length).toBeGreaterThanOrEqual(14);
    const rows = await t.db
      .selectFrom('events')
      .select(['event_id'])
      .where('event_id', 'in', tried)
      .execute();
    expect(rows).toEqual([]);
    expect(await attendanceOf(s(), c.sections.atcWelding, '2027-01-19')).toEqual([]);
  });
});

describe('POST /v1/events: identities', () => {
  it('two schools may use the same eventId', async () => {
    const id = nextEventId('shared');
    const a = enroll(c.students.hs1[1]!, c.sections.ctcAuto, { eventId: id });
    const b = enroll(c.students.hs2[0]!, c.sections.ctcAuto, { eventId: id, hsPeriods: [5, 6] });
    const ra = await t.api('POST', '/v1/events', { token: c.tokens.hs1, body: a });
    const rb = await t.api('POST', '/v1/events', { token: c.tokens.hs2, body: b });
    expect(ra.status, JSON.stringify(ra.body)).toBe(202);
    expect(rb.status, JSON.stringify(rb.body)).toBe(202);
    expect((await applied(t, id, c.tokens.hs1)).schoolId).toBe('HS1');
    expect((await applied(t, id, c.tokens.hs2)).schoolId).toBe('HS2');
    const rows = await t.db
      .selectFrom('events')
      .select(['school_id', 'status'])
      .where('event_id', '=', id)
      .orderBy('school_id')
      .execute();
    expect(rows).toEqual([
      { school_id: 'HS1', status: 'applied' },
      { school_id: 'HS2', status: 'applied' },
    ]);
    expect(await spansOf(c.students.hs1[1]!, c.sections.ctcAuto)).toHaveLength(1);
    const spansB = await spansOf(c.students.hs2[0]!, c.sections.ctcAuto);
    expect(spansB).toHaveLength(1);
    expect(spansB[0]!.hs_periods).toEqual([5, 6]);
  });

  it('the state office posts for a school with schoolId, and needs it', async () => {
    const e = enroll(c.students.hs1[2]!, c.sections.atcWelding, { schoolId: 'HS1' });
    const r = await t.api('POST', '/v1/events', { token: ADMIN_TOKEN, body: e });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body).toEqual({ eventId: e.eventId, status: 'pending' });
    const rows = await eventRows('HS1', e.eventId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.credential_id).toBeNull();
    // The event is the school's: the school reads it, the state office names the school.
    expect((await applied(t, e.eventId, c.tokens.hs1)).status).toBe('applied');
    const view = await t.api('GET', `/v1/events/${e.eventId}?schoolId=HS1`, {
      token: ADMIN_TOKEN,
    });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ eventId: e.eventId, schoolId: 'HS1', status: 'applied' });
    expect(await spansOf(c.students.hs1[2]!, c.sections.atcWelding)).toHaveLength(1);

    const without: Record<string, unknown> = enroll(c.students.hs1[3]!, c.sections.atcWelding);
    expect(without).not.toHaveProperty('schoolId');
    const bad = await t.api('POST', '/v1/events', { token: ADMIN_TOKEN, body: without });
    const err = expectError(bad, 400, 'validation_failed');
    expect(err.details.map((d) => d.path)).toEqual(['schoolId']);
    expect(
      await t.db
        .selectFrom('events')
        .select('seq')
        .where('event_id', '=', String(without.eventId))
        .execute(),
    ).toEqual([]);
  });

  it('an all-digit eventId works end to end', async () => {
    const e = enroll(c.students.hs2[1]!, c.sections.atcWelding, { eventId: '12345' });
    const r = await t.api('POST', '/v1/events', { token: c.tokens.hs2, body: e });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body).toEqual({ eventId: '12345', status: 'pending' });
    const view = await applied(t, '12345', c.tokens.hs2);
    expect(view).toMatchObject({ eventId: '12345', schoolId: 'HS2', status: 'applied' });
    expect(typeof view.eventId).toBe('string');
    const again = await t.api('POST', '/v1/events', { token: c.tokens.hs2, body: e });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(view);
    // Leading zeros make a different id, not the same number.
    const z = enroll(c.students.hs2[2]!, c.sections.atcWelding, { eventId: '012345' });
    const rz = await t.api('POST', '/v1/events', { token: c.tokens.hs2, body: z });
    expect(rz.status, JSON.stringify(rz.body)).toBe(202);
    expect((await applied(t, '012345', c.tokens.hs2)).eventId).toBe('012345');
    const rows = await t.db
      .selectFrom('events')
      .select(['event_id', 'status'])
      .where('school_id', '=', 'HS2')
      .where('event_id', 'in', ['12345', '012345'])
      .orderBy('event_id')
      .execute();
    expect(rows).toEqual([
      { event_id: '012345', status: 'applied' },
      { event_id: '12345', status: 'applied' },
    ]);
    expect(await spansOf(c.students.hs2[1]!, c.sections.atcWelding)).toHaveLength(1);
    expect(await spansOf(c.students.hs2[2]!, c.sections.atcWelding)).toHaveLength(1);
  });
});

describe('unknown routes', () => {
  it('answer 404 not_found in the error shape', async () => {
    for (const [method, url] of [
      ['GET', '/v1/nothing-here'],
      ['POST', '/v1/event'],
      ['GET', '/nope'],
    ] as const) {
      const r = await t.api(method, url, { body: method === 'POST' ? {} : undefined });
      expectError(r, 404, 'not_found');
    }
  });
});

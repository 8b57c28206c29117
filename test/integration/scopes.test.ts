import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestExchange } from '../support/context.ts';
import {
  applied,
  attendance,
  enroll,
  nextEventId,
  seededExchange,
  YEAR,
  type County,
} from '../support/county.ts';
import { ROUTES, type RouteDoc } from '../../producers/http/openapi.ts';
import { ErrorResponse } from '../../producers/http/responses.ts';

/**
 * Roles and scopes (api.md, "Identity" and "Roles and scopes"): every /v1 route in ROUTES, called
 * by every kind of caller, answers exactly the status the table below expects; successes match
 * the route's response schema, refusals the error shape, and a refused write changes nothing.
 *
 * Every request is built fresh per caller (fresh eventIds, a fresh credential to revoke, a fresh
 * waiver to decide), so the cells do not depend on the order they run in.
 */

type Caller = 'hs1' | 'hs2' | 'atc' | 'ctc' | 'admin' | 'ops' | 'none' | 'revoked';
const CALLERS: readonly Caller[] = ['hs1', 'hs2', 'atc', 'ctc', 'admin', 'ops', 'none', 'revoked'];
type Expectation = Record<Caller, number>;

const NEXT_YEAR = '2027-2028'; // NOW is 2027-01-20: inside the Jan 1 - Mar 1 waiver window
const NO_SUCH_STUDENT = '1999999999';

/**
 * The expected status of each route for each caller. The request is always the route's natural
 * one for its owner: HS1's school id / HS1's student / HS1's event, ATC1's section and roster,
 * a waiver for CTC1 (the CTC's own; state_admin files with a schoolId).
 */
// prettier-ignore
const EXPECT: Record<string, Expectation> = {
  // Credentials: state_admin only.
  'POST /v1/credentials':                { hs1: 403, hs2: 403, atc: 403, ctc: 403, admin: 201, ops: 403, none: 401, revoked: 401 },
  'GET /v1/credentials':                 { hs1: 403, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'DELETE /v1/credentials/:credentialId': { hs1: 403, hs2: 403, atc: 403, ctc: 403, admin: 204, ops: 403, none: 401, revoked: 401 },
  // Set-up: schools are the state office's; a calendar is the school's own or the state office's.
  'PUT /v1/schools/:schoolId':           { hs1: 403, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'PUT /v1/schools/:schoolId/calendars/:schoolYear': { hs1: 200, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'PUT /v1/tech-centers/:schoolId/sections/:schoolYear/:ktsCourseNumber': { hs1: 403, hs2: 403, atc: 200, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/catalog/:schoolYear':         { hs1: 200, hs2: 200, atc: 200, ctc: 200, admin: 200, ops: 403, none: 401, revoked: 401 },
  // PUT of HS1's student: api.md's one exception to "never tell" - a high school's PUT of a
  // student homed at another school is 409 (moving students is the state office's PUT).
  'PUT /v1/students/:studentId':         { hs1: 200, hs2: 409, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  // Student reads: another high school gets the answer for a student that does not exist (404);
  // a tech center is the wrong role for the route (403).
  'GET /v1/students/:studentId':         { hs1: 200, hs2: 404, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'PUT /v1/schools/:schoolId/eligibility-rule': { hs1: 200, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/schools/:schoolId/eligibility-rule': { hs1: 200, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  // enrollment-changed naming schoolId HS1: HS1 repeating its own id, state_admin acting for HS1.
  'POST /v1/events':                     { hs1: 202, hs2: 403, atc: 403, ctc: 403, admin: 202, ops: 403, none: 401, revoked: 401 },
  // HS1's event, asked for with ?schoolId=HS1.
  'GET /v1/events/:eventId':             { hs1: 200, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/schools/:schoolId/rejections': { hs1: 200, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/tech-centers/:schoolId/rosters/:schoolYear/:ktsCourseNumber': { hs1: 403, hs2: 403, atc: 200, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/high-schools/:schoolId/attendance': { hs1: 200, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/students/:studentId/report-card': { hs1: 200, hs2: 404, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/students/:studentId/transcript': { hs1: 200, hs2: 404, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/students/:studentId/eligibility': { hs1: 200, hs2: 404, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/students/:studentId/history': { hs1: 200, hs2: 404, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  // api.md lists "only CTCs (never ATCs) may ask" among the waiver rules answered with 422.
  'POST /v1/waivers':                    { hs1: 422, hs2: 422, atc: 422, ctc: 201, admin: 201, ops: 403, none: 401, revoked: 401 },
  'POST /v1/waivers/:waiverId/decision': { hs1: 403, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/waivers':                     { hs1: 403, hs2: 403, atc: 403, ctc: 200, admin: 200, ops: 403, none: 401, revoked: 401 },
  // The nightly sync: the worklist is the high school's; runs are the state office's.
  'GET /v1/high-schools/:schoolId/unknowns': { hs1: 200, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'POST /v1/admin/sync-runs':            { hs1: 403, hs2: 403, atc: 403, ctc: 403, admin: 202, ops: 403, none: 401, revoked: 401 },
  'GET /v1/admin/sync-runs/:runId':      { hs1: 403, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'GET /v1/admin/sync-runs':             { hs1: 403, hs2: 403, atc: 403, ctc: 403, admin: 200, ops: 403, none: 401, revoked: 401 },
  'POST /v1/admin/sync-runs/:runId/release': { hs1: 403, hs2: 403, atc: 403, ctc: 403, admin: 202, ops: 403, none: 401, revoked: 401 },
};

const CODE: Record<number, string> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  422: 'unprocessable',
};

const keyOf = (r: RouteDoc) => `${r.method.toUpperCase()} ${r.path}`;

let t: TestExchange;
let c: County;
let revokedToken: string;
let hs1Event: string;
let fresh = 0;

const tokenOf = (caller: Caller): string | null =>
  ({
    hs1: c.tokens.hs1,
    hs2: c.tokens.hs2,
    atc: c.tokens.atc,
    ctc: c.tokens.ctc,
    admin: ADMIN_TOKEN,
    ops: c.tokens.ops,
    none: null,
    revoked: revokedToken,
  })[caller];

/** A concrete request: path params, query and body, and (for writes) a view of what it may change. */
interface Req {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  state?: () => Promise<unknown>;
}

const countOf = async (table: 'credentials' | 'events' | 'waivers') =>
  Number(
    (
      await t.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

async function adminOk(method: string, url: string, body: unknown, status = 200) {
  const r = await t.api(method, url, { body });
  expect(r.status, `${method} ${url}: ${JSON.stringify(r.body)}`).toBe(status);
  return r.body;
}

/** A CTC registered only to hold a waiver the state office files or decides. */
async function freshCtc(): Promise<string> {
  const id = `CTCX-${++fresh}`;
  await adminOk('PUT', `/v1/schools/${id}`, {
    name: `Spare Career Center ${fresh}`,
    kind: 'ctc',
    districtId: 'D-099',
    timezone: 'America/New_York',
  });
  return id;
}

const s1 = () => c.students.hs1[0]!;

const REQUESTS: Record<string, (caller: Caller, i: number) => Promise<Req> | Req> = {
  'POST /v1/credentials': () => ({
    body: { schoolId: 'HS1', label: 'scope check' },
    state: () => countOf('credentials'),
  }),
  'GET /v1/credentials': () => ({ query: { schoolId: 'HS1' } }),
  'DELETE /v1/credentials/:credentialId': async () => {
    const { credentialId } = (await adminOk(
      'POST',
      '/v1/credentials',
      { schoolId: 'HS1', label: 'to revoke' },
      201,
    )) as { credentialId: string };
    return {
      params: { credentialId },
      state: () =>
        t.db
          .selectFrom('credentials')
          .select(['revoked_at'])
          .where('id', '=', credentialId)
          .executeTakeFirstOrThrow(),
    };
  },
  'PUT /v1/schools/:schoolId': (caller) => ({
    params: { schoolId: 'HS1' },
    body: {
      name: `Bourbon County High (${caller})`,
      kind: 'high_school',
      districtId: 'D-017',
      timezone: 'America/New_York',
      attendanceSync: true,
    },
    state: () => t.db.selectFrom('schools').selectAll().where('id', '=', 'HS1').execute(),
  }),
  'PUT /v1/schools/:schoolId/calendars/:schoolYear': (_caller, i) => ({
    params: { schoolId: 'HS1', schoolYear: YEAR },
    body: {
      firstDay: '2026-08-12',
      lastDay: '2027-05-28',
      nonInstructionalDays: ['2027-01-18'],
      periods: [{ period: 1, start: '08:00', end: `08:5${i}` }],
    },
    state: () =>
      t.db
        .selectFrom('calendars')
        .selectAll()
        .where('school_id', '=', 'HS1')
        .where('school_year', '=', YEAR)
        .execute(),
  }),
  'PUT /v1/tech-centers/:schoolId/sections/:schoolYear/:ktsCourseNumber': (caller) => ({
    params: { schoolId: 'ATC1', schoolYear: YEAR, ktsCourseNumber: c.sections.atcWelding },
    body: { courseCode: '480101', title: `Welding I (${caller})`, credits: 1, term: 'year' },
    state: () =>
      t.db
        .selectFrom('sections')
        .selectAll()
        .where('school_year', '=', YEAR)
        .where('kts_course_number', '=', c.sections.atcWelding)
        .execute(),
  }),
  'GET /v1/catalog/:schoolYear': () => ({ params: { schoolYear: YEAR } }),
  'PUT /v1/students/:studentId': (caller) => ({
    params: { studentId: s1() },
    body: { homeSchoolId: 'HS1', firstName: `Ann-${caller}`, lastName: 'Rowe', gradeLevel: 11 },
    state: () => t.db.selectFrom('students').selectAll().where('id', '=', s1()).execute(),
  }),
  'GET /v1/students/:studentId': () => ({ params: { studentId: s1() } }),
  'PUT /v1/schools/:schoolId/eligibility-rule': (_caller, i) => ({
    params: { schoolId: 'HS1' },
    body: {
      passingNumericGrade: 60 + i,
      failingLetterGrades: ['F'],
      maxFailingCourses: 0,
      minPassingCourses: 0,
    },
    state: () =>
      t.db.selectFrom('eligibility_rules').selectAll().where('school_id', '=', 'HS1').execute(),
  }),
  'GET /v1/schools/:schoolId/eligibility-rule': () => ({ params: { schoolId: 'HS1' } }),
  'POST /v1/events': () => ({
    body: enroll(c.students.hs1[1]!, c.sections.atcWelding, { schoolId: 'HS1' }),
    state: () => countOf('events'),
  }),
  'GET /v1/events/:eventId': () => ({
    params: { eventId: hs1Event },
    query: { schoolId: 'HS1' },
  }),
  'GET /v1/schools/:schoolId/rejections': () => ({ params: { schoolId: 'HS1' } }),
  'GET /v1/tech-centers/:schoolId/rosters/:schoolYear/:ktsCourseNumber': () => ({
    params: { schoolId: 'ATC1', schoolYear: YEAR, ktsCourseNumber: c.sections.atcWelding },
  }),
  'GET /v1/high-schools/:schoolId/attendance': () => ({
    params: { schoolId: 'HS1' },
    query: { date: '2027-01-19' },
  }),
  'GET /v1/students/:studentId/report-card': () => ({
    params: { studentId: s1() },
    query: { schoolYear: YEAR },
  }),
  'GET /v1/students/:studentId/transcript': () => ({ params: { studentId: s1() } }),
  'GET /v1/students/:studentId/eligibility': () => ({
    params: { studentId: s1() },
    query: { schoolYear: YEAR, term: 'S1' },
  }),
  'GET /v1/students/:studentId/history': () => ({ params: { studentId: s1() } }),
  'POST /v1/waivers': async (caller) => ({
    // A school asks as itself; the state office names the CTC it files for (a spare one, so the
    // CTC's own request is its first whatever the order).
    body: {
      ...(caller === 'admin' ? { schoolId: await freshCtc() } : {}),
      schoolYear: NEXT_YEAR,
      reason: 'The center runs its own SIS integration next year.',
    },
    state: () => t.db.selectFrom('waivers').selectAll().orderBy('id').execute(),
  }),
  'POST /v1/waivers/:waiverId/decision': async () => {
    const { waiverId } = (await adminOk(
      'POST',
      '/v1/waivers',
      { schoolId: await freshCtc(), schoolYear: NEXT_YEAR, reason: 'to decide' },
      201,
    )) as { waiverId: string };
    return {
      params: { waiverId },
      body: { decision: 'denied' },
      state: () => t.db.selectFrom('waivers').selectAll().where('id', '=', waiverId).execute(),
    };
  },
  'GET /v1/waivers': () => ({ query: { schoolYear: NEXT_YEAR } }),
  'GET /v1/high-schools/:schoolId/unknowns': () => ({
    params: { schoolId: 'HS1' },
    query: { from: '2027-01-01' },
  }),
  'POST /v1/admin/sync-runs': () => ({
    body: { highSchoolId: 'HS1', date: '2027-01-19' },
    state: () => t.db.selectFrom('sync_runs').select('id').orderBy('id').execute(),
  }),
  'GET /v1/admin/sync-runs/:runId': async () => ({ params: { runId: await newRun() } }),
  'GET /v1/admin/sync-runs': () => ({ query: { date: '2027-01-19' } }),
  'POST /v1/admin/sync-runs/:runId/release': async () => {
    // A run held for review: the release applies it (refused callers must leave it held).
    const runId = await newRun();
    await t.db
      .updateTable('sync_run_schools')
      .set({ status: 'held' })
      .where('run_id', '=', runId)
      .execute();
    return {
      params: { runId },
      state: () =>
        t.db
          .selectFrom('sync_run_schools')
          .select(['status', 'released'])
          .where('run_id', '=', runId)
          .execute(),
    };
  },
};

/** A finished manual run of HS1's 2027-01-19 (the child job completes before it is returned). */
async function newRun(): Promise<string> {
  const { runId } = (await adminOk(
    'POST',
    '/v1/admin/sync-runs',
    { highSchoolId: 'HS1', date: '2027-01-19' },
    202,
  )) as { runId: string };
  for (let i = 0; i < 200; i++) {
    const r = await t.api('GET', `/v1/admin/sync-runs/${runId}`);
    if (r.body.status !== 'running') return runId;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`run ${runId} did not finish`);
}

function urlOf(r: RouteDoc, req: Req): string {
  const path = r.path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    const v = req.params?.[name];
    if (v === undefined) throw new Error(`${keyOf(r)}: no value for :${name}`);
    return encodeURIComponent(v);
  });
  const qs = new URLSearchParams(req.query ?? {}).toString();
  return qs ? `${path}?${qs}` : path;
}

/** The raw answer, for byte-for-byte comparisons. */
async function raw(url: string, token: string) {
  const res = await t.exchange.app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.statusCode, body: res.body, headers: res.headers };
}

beforeAll(async () => {
  ({ t, c } = await seededExchange());
  const a = s1();

  // A revoked credential of the owning high school.
  const cred = (await adminOk(
    'POST',
    '/v1/credentials',
    { schoolId: 'HS1', label: 'revoked' },
    201,
  )) as { credentialId: string; token: string };
  await adminOk('DELETE', `/v1/credentials/${cred.credentialId}`, undefined, 204);
  revokedToken = cred.token;

  // Real data behind the reads, so schemas are checked against filled rows, not only empty lists.
  const post = async (token: string, body: { eventId: string }) => {
    const r = await t.api('POST', '/v1/events', { token, body });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return applied(t, body.eventId, token);
  };
  const e = enroll(a, c.sections.atcWelding);
  hs1Event = e.eventId;
  expect((await post(c.tokens.hs1, e)).status).toBe('applied');
  // HS1 scheduling HS2's student: a rejection on HS1's list.
  expect((await post(c.tokens.hs1, enroll(c.students.hs2[0]!, c.sections.atcWelding))).status).toBe(
    'rejected',
  );
  const att = attendance(c.sections.atcWelding, '2027-01-19', [
    { studentId: a, status: 'absent', excuse: 'unknown' },
  ]);
  expect((await post(c.tokens.atc, att)).status).toBe('applied');
  const grade = (over: Record<string, unknown>) => ({
    type: 'grade-finalized',
    eventId: nextEventId('grd'),
    occurredAt: '2027-01-15T15:00:00-05:00',
    schoolYear: YEAR,
    term: 'S1',
    gradeType: 'semester',
    ...over,
  });
  expect(
    (
      await post(
        c.tokens.atc,
        grade({
          ktsCourseNumber: c.sections.atcWelding,
          records: [{ studentId: a, numericGrade: 91 }],
        }),
      )
    ).status,
  ).toBe('applied');
  expect(
    (
      await post(
        c.tokens.hs1,
        grade({
          course: { courseId: 'ENG3', courseCode: '230103', title: 'English III', credits: 1 },
          records: [{ studentId: a, letterGrade: 'B' }],
        }),
      )
    ).status,
  ).toBe('applied');
});
afterAll(async () => t?.close());

describe('the expectation table', () => {
  it('has exactly one row for every route in ROUTES, and a request for each', () => {
    const keys = ROUTES.map(keyOf);
    expect(new Set(keys).size).toBe(keys.length);
    expect(Object.keys(EXPECT).sort()).toEqual([...keys].sort());
    expect(Object.keys(REQUESTS).sort()).toEqual([...keys].sort());
    for (const k of keys) expect(Object.keys(EXPECT[k]!).sort()).toEqual([...CALLERS].sort());
  });

  it('expects only statuses the route documents', () => {
    for (const r of ROUTES) {
      const documented = new Set([r.ok.status, 400, 401, 403, ...(r.also ?? [])]);
      for (const caller of CALLERS) {
        const status = EXPECT[keyOf(r)]![caller];
        expect(documented.has(status), `${keyOf(r)} as ${caller}: ${status}`).toBe(true);
        if (status < 300) expect(status, `${keyOf(r)} as ${caller}`).toBe(r.ok.status);
      }
    }
  });
});

for (const r of ROUTES) {
  const key = keyOf(r);
  describe(key, () => {
    CALLERS.forEach((caller, i) => {
      const expected = EXPECT[key]?.[caller];
      it(`${caller} → ${expected}`, async () => {
        expect(expected, `no expectation for ${key} as ${caller}`).toBeDefined();
        const build = REQUESTS[key];
        expect(build, `no request for ${key}`).toBeDefined();
        const req = await build!(caller, i);

        // The request itself is valid for the route: only the caller decides the answer.
        if (r.params) r.params.parse(req.params ?? {});
        else expect(req.params).toBeUndefined();
        if (r.query) r.query.parse(req.query ?? {});
        else expect(req.query).toBeUndefined();
        if (r.body) r.body.parse(req.body);
        else expect(req.body).toBeUndefined();
        if (r.method !== 'get') expect(req.state, `${key} needs a state view`).toBeDefined();

        const before = req.state ? await req.state() : undefined;
        const res = await t.api(r.method.toUpperCase(), urlOf(r, req), {
          token: tokenOf(caller),
          ...(req.body !== undefined ? { body: req.body } : {}),
        });
        expect(res.status, `${key} as ${caller}: ${JSON.stringify(res.body)}`).toBe(expected);

        if (res.status < 300) {
          if (r.ok.schema) r.ok.schema.parse(res.body);
          else expect(res.body).toBeNull();
        } else {
          ErrorResponse.parse(res.body);
          expect(res.body.error.code).toBe(CODE[res.status]);
          expect(res.body.error.message.length).toBeGreaterThan(0);
          // No student's name in any refusal.
          expect(JSON.stringify(res.body)).not.toMatch(/(First|Last)\d|Ann-|Rowe/);
          if (req.state)
            expect(await req.state(), `${key} as ${caller} changed state`).toEqual(before);
        }
      });
    });
  });
}

describe('no answer tells a school whether a student it may not see exists', () => {
  const reads = [
    (id: string) => `/v1/students/${id}`,
    (id: string) => `/v1/students/${id}/report-card?schoolYear=${YEAR}`,
    (id: string) => `/v1/students/${id}/transcript`,
    (id: string) => `/v1/students/${id}/eligibility?schoolYear=${YEAR}&term=S1`,
    (id: string) => `/v1/students/${id}/history`,
  ];

  it("HS2 (and the centers, and ops) get the same bytes for HS1's student as for no student", async () => {
    // The message may echo the SSID the caller sent; beyond that the answers are identical.
    const same = (body: string, id: string) => body.split(id).join('<SSID>');
    for (const read of reads) {
      for (const caller of ['hs2', 'atc', 'ctc', 'ops'] as const) {
        const token = tokenOf(caller)!;
        const real = await raw(read(s1()), token);
        const none = await raw(read(NO_SUCH_STUDENT), token);
        const what = `${read(s1())} as ${caller}`;
        expect(real.status, what).toBeGreaterThanOrEqual(400);
        expect(real.status, what).toBe(none.status);
        expect(same(real.body, s1()), what).toBe(same(none.body, NO_SUCH_STUDENT));
        expect(real.headers['content-type'], what).toBe(none.headers['content-type']);
        expect(real.headers['content-length'], what).toBe(none.headers['content-length']);
      }
      // HS2 specifically gets the not-found answer, as for a student that does not exist.
      const hs2 = await t.api('GET', read(s1()), { token: c.tokens.hs2 });
      expect(hs2.status).toBe(404);
      expect(hs2.body.error.code).toBe('not_found');
    }
  });

  it('HS2 scheduling HS1 student and a non-existent one: the same unknown_student rejection', async () => {
    const views = [];
    for (const id of [s1(), NO_SUCH_STUDENT]) {
      const e = enroll(id, c.sections.atcWelding);
      const r = await t.api('POST', '/v1/events', { token: c.tokens.hs2, body: e });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const v = await applied(t, e.eventId, c.tokens.hs2);
      expect(v.status).toBe('rejected');
      expect(v.rejections).toEqual([
        { recordIndex: 0, studentId: id, code: 'unknown_student', message: expect.any(String) },
      ]);
      views.push(String(v.rejections[0].message).split(id).join('<SSID>'));
    }
    expect(views[0]).toBe(views[1]);
    // Nothing reached HS1's student's roster from HS2.
    const spans = await t.db
      .selectFrom('enrollment_actions')
      .select('event_id')
      .where('student_id', '=', s1())
      .where('home_school_id', '=', 'HS2')
      .execute();
    expect(spans).toEqual([]);
  });
});

describe('refused writes outside the table', () => {
  it("a high school claiming another school's student is 409, and nothing changes", async () => {
    const before = await t.db.selectFrom('students').selectAll().where('id', '=', s1()).execute();
    const history = await t.db
      .selectFrom('history')
      .select('id')
      .where('student_id', '=', s1())
      .where('record', '=', 'student')
      .execute();
    const r = await t.api('PUT', `/v1/students/${s1()}`, {
      token: c.tokens.hs2,
      body: { homeSchoolId: 'HS2', firstName: 'Taken', lastName: 'Over', gradeLevel: 11 },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(409);
    ErrorResponse.parse(r.body);
    expect(r.body.error.code).toBe('conflict');
    expect(JSON.stringify(r.body)).not.toMatch(/(First|Last)\d|Ann-|Rowe/);
    expect(await t.db.selectFrom('students').selectAll().where('id', '=', s1()).execute()).toEqual(
      before,
    );
    expect(
      await t.db
        .selectFrom('history')
        .select('id')
        .where('student_id', '=', s1())
        .where('record', '=', 'student')
        .execute(),
    ).toEqual(history);
  });

  it("a center writing to another center's section is 403, and no event is stored", async () => {
    const before = await countOf('events');
    const writes = [
      attendance(c.sections.ctcAuto, '2027-01-19', [{ studentId: s1(), status: 'present' }]),
      {
        type: 'grade-finalized',
        eventId: nextEventId('grd'),
        occurredAt: '2027-01-15T15:00:00-05:00',
        schoolYear: YEAR,
        term: 'S1',
        gradeType: 'semester',
        ktsCourseNumber: c.sections.ctcAuto,
        records: [{ studentId: s1(), numericGrade: 50 }],
      },
    ];
    for (const body of writes) {
      const r = await t.api('POST', '/v1/events', { token: c.tokens.atc, body });
      expect(r.status, JSON.stringify(r.body)).toBe(403);
      ErrorResponse.parse(r.body);
      expect(r.body.error.code).toBe('forbidden');
    }
    expect(await countOf('events')).toBe(before);
  });
});

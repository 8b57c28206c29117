import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { sql } from 'kysely';
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
import { AttendanceEntered, EVENT_TYPES } from '../../shared/events.ts';
import { ROUTES } from '../../producers/http/openapi.ts';
import { ErrorResponse } from '../../producers/http/responses.ts';

/**
 * Bad input at the door (issue 5, "Bad input"): a corpus of bad requests, hand-written and
 * generated, each through the real HTTP stack. Every one must get a 4xx in the contract's error
 * shape (api.md, "Conventions": the code matches the status), with no stack trace and no SQL in
 * the message or details, and must store nothing: a fingerprint of every table that a request
 * could write (row counts plus a hash of the contents) is equal before and after. After the whole
 * corpus the process still answers /healthz and still takes a valid event.
 */

let t: TestExchange;
let c: County;
/** A stored, applied event: the same eventId with another body must be a 409 that stores nothing. */
let stored: ReturnType<typeof attendance>;

beforeAll(async () => {
  ({ t, c } = await seededExchange());
  stored = attendance(c.sections.atcWelding, '2027-01-19', [
    { studentId: c.students.hs1[0], status: 'present' },
  ]);
  const r = await t.api('POST', '/v1/events', { token: c.tokens.atc, body: stored });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  await applied(t, stored.eventId, c.tokens.atc);
});
afterAll(async () => t?.close());

// ---------------------------------------------------------------------------------------------
// What every answer to a bad request must be
// ---------------------------------------------------------------------------------------------

const CODE_OF: Record<number, string> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  422: 'unprocessable',
};

/** Stack traces, source paths and Postgres error text must never reach a caller. */
const LEAKS: RegExp[] = [
  /\n\s*at /,
  /\bat \S*\s*\(?(?:file:\/\/)?\/[^\s)]*:\d+/,
  /\.ts:/,
  /\.[cm]?js:\d/,
  /node_modules/,
  /\/work\//,
  /syntax error at or near/i,
  /\brelation\b/i,
  /violates/i,
  /invalid input syntax/i,
  /duplicate key value/i,
  /out of range for type/i,
  /invalid byte sequence/i,
];
const leaky = (s: string) => LEAKS.some((p) => p.test(s));

interface Sent {
  status: number;
  text: string;
  headers: Record<string, unknown>;
}

async function send(o: InjectOptions): Promise<Sent> {
  const r = await t.exchange.app.inject(o);
  return { status: r.statusCode, text: r.body, headers: r.headers };
}

interface Want {
  status?: number;
  /** A `details[].path` the answer must name. */
  path?: string;
}

/** Every way the answer falls short of the contract, as readable lines (empty when it is right). */
function problemsWith(r: Sent, want: Want = {}): string[] {
  const out: string[] = [];
  if (r.status < 400 || r.status >= 500) out.push(`status ${r.status} is not a 4xx`);
  if (want.status !== undefined && r.status !== want.status)
    out.push(`status ${r.status}, expected ${want.status}`);
  const ct = String(r.headers['content-type'] ?? '');
  if (!ct.startsWith('application/json')) out.push(`content-type "${ct}" is not application/json`);
  let body: unknown;
  try {
    body = JSON.parse(r.text);
  } catch {
    out.push('body is not JSON');
  }
  const parsed = ErrorResponse.safeParse(body);
  if (!parsed.success) {
    out.push(`body is not the contract's error shape: ${parsed.error.issues[0]?.message ?? ''}`);
    return out;
  }
  const err = parsed.data.error;
  if (err.code !== CODE_OF[r.status])
    out.push(`code ${err.code} does not match status ${r.status} (${CODE_OF[r.status]})`);
  if (err.message.length === 0) out.push('empty message');
  for (const text of [err.message, ...err.details.flatMap((d) => [d.path, d.message])]) {
    for (const p of LEAKS) if (p.test(text)) out.push(`leaks ${p}: ${text.slice(0, 200)}`);
  }
  if (want.path !== undefined && !err.details.some((d) => d.path === want.path))
    out.push(`no detail names ${want.path} (${err.details.map((d) => d.path).join(', ')})`);
  return out;
}

const TABLES = [
  'schools',
  'calendars',
  'sections',
  'students',
  'events',
  'event_rejections',
  'enrollment_actions',
  'roster_spans',
  'attendance',
  'history',
  'waivers',
  'grades',
  'hs_attendance',
  'eligibility_rules',
  'sync_runs',
  'sync_run_schools',
];

/** Row count and content hash of each table (credentials by count: reads touch last_used_at). */
async function fingerprint(): Promise<Record<string, string>> {
  const cols = [
    ...TABLES.map(
      (n) =>
        `(select count(*) || ':' || coalesce(md5(string_agg(x::text, '|' order by x::text)), '') from ${n} x) as ${n}`,
    ),
    `(select count(*)::text from credentials) as credentials`,
  ];
  const r = await sql.raw<Record<string, string>>(`select ${cols.join(', ')}`).execute(t.db);
  return r.rows[0]!;
}

let corpusSize = 0;

/** Send one bad request; list what is wrong with the answer and whether anything was stored. */
async function refused(o: InjectOptions, want: Want = {}): Promise<string[]> {
  corpusSize++;
  const before = await fingerprint();
  const r = await send(o);
  const problems = problemsWith(r, want);
  const after = await fingerprint();
  for (const k of Object.keys(before))
    if (before[k] !== after[k]) problems.push(`stored something in ${k}`);
  return problems.map(
    (p) =>
      `${o.method} ${String(o.url).slice(0, 120)} -> ${r.status} ${r.text.slice(0, 300)}: ${p}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Request builders
// ---------------------------------------------------------------------------------------------

type Who = 'admin' | 'hs1' | 'hs2' | 'atc' | 'ctc' | 'ops' | 'none';
const tokenOf = (who: Who) =>
  who === 'admin' ? ADMIN_TOKEN : who === 'none' ? null : c.tokens[who];
const authHeader = (who: Who): Record<string, string> => {
  const token = tokenOf(who);
  return token === null ? {} : { authorization: `Bearer ${token}` };
};

function json(method: string, url: string, body: unknown, who: Who = 'atc'): InjectOptions {
  return {
    method: method as 'POST',
    url,
    headers: { ...authHeader(who), 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

function raw(
  method: string,
  url: string,
  payload: string | Buffer | undefined,
  headers: Record<string, string>,
  who: Who = 'atc',
): InjectOptions {
  return {
    method: method as 'POST',
    url,
    headers: { ...authHeader(who), ...headers },
    ...(payload === undefined ? {} : { payload }),
  };
}

const get = (url: string, who: Who = 'admin'): InjectOptions => ({
  method: 'GET',
  url,
  headers: authHeader(who),
});

const omit = (o: Record<string, unknown>, ...keys: string[]) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

/** A valid attendance event by ATC1 (absent, unknown), with overrides. */
const att = (over: Record<string, unknown> = {}, rec: Record<string, unknown> = {}) =>
  attendance(
    c.sections.atcWelding,
    '2027-01-19',
    [{ studentId: c.students.hs1[0], status: 'absent', excuse: 'unknown', ...rec }],
    over,
  );
const attRecords = (records: unknown) => ({ ...att(), records });
const enr = (over: Record<string, unknown> = {}) =>
  enroll(c.students.hs1[0]!, c.sections.atcWelding, over);
const hsGrade = (over: Record<string, unknown> = {}) => ({
  type: 'grade-finalized',
  eventId: nextEventId('grd'),
  occurredAt: '2027-01-15T15:00:00-05:00',
  schoolYear: YEAR,
  term: 'S1',
  gradeType: 'semester',
  course: { courseId: 'ENG-101', courseCode: '230101', title: 'English I', credits: 1 },
  records: [{ studentId: c.students.hs1[0], letterGrade: 'A' }],
  ...over,
});
const coded = (over: Record<string, unknown> = {}) => ({
  type: 'attendance-coded',
  eventId: nextEventId('cod'),
  occurredAt: '2027-01-19T11:00:00-05:00',
  studentId: c.students.hs1[0],
  date: '2027-01-19',
  period: 1,
  excuse: 'excused',
  code: 'DR',
  ...over,
});
const school = (over: Record<string, unknown> = {}) => ({
  name: 'New Valley ATC',
  kind: 'atc',
  districtId: 'D-017',
  timezone: 'America/New_York',
  ...over,
});
const student = (over: Record<string, unknown> = {}) => ({
  homeSchoolId: 'HS1',
  firstName: 'Ada',
  lastName: 'Byron',
  gradeLevel: 11,
  ...over,
});
const section = (over: Record<string, unknown> = {}) => ({
  courseCode: '480101',
  title: 'Welding II',
  credits: 1,
  term: 'year',
  ...over,
});
const calendar = (over: Record<string, unknown> = {}) => ({
  firstDay: '2027-08-11',
  lastDay: '2028-05-26',
  nonInstructionalDays: [],
  periods: [{ period: 1, start: '08:00', end: '08:55' }],
  ...over,
});

const NEW_SCHOOL = '/v1/schools/NEW-ATC-9';
const NEW_STUDENT = '/v1/students/1000009999';
const NEW_SECTION = `/v1/tech-centers/ATC1/sections/${YEAR}/ATC1-NEW-999`;
const NEW_CALENDAR = '/v1/schools/HS1/calendars/2027-2028';
const EVENTS = '/v1/events';
const cursor = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');

/** A JSON body of exactly `bytes` bytes (UTF-8). */
function bodyOfSize(bytes: number): string {
  const head = '{"type":"attendance-entered","pad":"';
  const tail = '"}';
  return head + 'x'.repeat(bytes - head.length - tail.length) + tail;
}
const MiB = 1024 * 1024;
const KB100 = 'x'.repeat(100 * 1024);
const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number, key = 'a') => `{"${key}":`.repeat(n) + '0' + '}'.repeat(n);
/** Splice a raw JSON fragment in place of a placeholder string value. */
const splice = (body: object, raw: string) => JSON.stringify(body).replace('"@@RAW@@"', () => raw);

const INJECTIONS = [
  "'; drop table events; --",
  '<script>alert(1)</script>',
  '${jndi:ldap://evil.example/a}',
  '../../etc/passwd',
  "' OR '1'='1",
];

interface Case {
  name: string;
  req: () => InjectOptions;
  status?: number;
  path?: string;
}

// ---------------------------------------------------------------------------------------------
// The hand-written corpus
// ---------------------------------------------------------------------------------------------

const CASES: Case[] = [
  // Wrong types
  {
    name: 'type is a number',
    req: () => json('POST', EVENTS, att({ type: 7 })),
    status: 400,
    path: 'type',
  },
  {
    name: 'eventId is a number',
    req: () => json('POST', EVENTS, att({ eventId: 42 })),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'occurredAt is epoch millis',
    req: () => json('POST', EVENTS, att({ occurredAt: 1800000000000 })),
    status: 400,
    path: 'occurredAt',
  },
  {
    name: 'records is a string',
    req: () => json('POST', EVENTS, attRecords('absent')),
    status: 400,
    path: 'records',
  },
  {
    name: 'records is an object',
    req: () => json('POST', EVENTS, attRecords({ 0: {} })),
    status: 400,
    path: 'records',
  },
  {
    name: 'a record is a string',
    req: () => json('POST', EVENTS, attRecords(['1000000001'])),
    status: 400,
    path: 'records.0',
  },
  {
    name: 'studentId is a number',
    req: () => json('POST', EVENTS, att({}, { studentId: 1000000001 })),
    status: 400,
    path: 'records.0.studentId',
  },
  {
    name: 'minutesAbsent is a string',
    req: () => json('POST', EVENTS, att({}, { minutesAbsent: '55' })),
    status: 400,
    path: 'records.0.minutesAbsent',
  },
  {
    name: 'minutesAbsent is a fraction',
    req: () => json('POST', EVENTS, att({}, { minutesAbsent: 5.5 })),
    status: 400,
    path: 'records.0.minutesAbsent',
  },
  {
    name: 'ktsCourseNumber is null',
    req: () => json('POST', EVENTS, att({ ktsCourseNumber: null })),
    status: 400,
    path: 'ktsCourseNumber',
  },
  {
    name: 'date is a boolean',
    req: () => json('POST', EVENTS, att({ date: true })),
    status: 400,
    path: 'date',
  },
  {
    name: 'hsPeriods is a string',
    req: () => json('POST', EVENTS, enr({ hsPeriods: '1,2' }), 'hs1'),
    status: 400,
    path: 'hsPeriods',
  },
  {
    name: 'period is a string',
    req: () => json('POST', EVENTS, coded({ period: '1' }), 'hs1'),
    status: 400,
    path: 'period',
  },
  { name: 'body is an array', req: () => json('POST', EVENTS, [att()]), status: 400 },
  {
    name: 'body is a string',
    req: () => json('POST', EVENTS, '"attendance-entered"'),
    status: 400,
  },
  { name: 'body is a number', req: () => json('POST', EVENTS, '42'), status: 400 },
  { name: 'body is null', req: () => json('POST', EVENTS, 'null'), status: 400 },
  { name: 'body is true', req: () => json('POST', EVENTS, 'true'), status: 400 },
  {
    name: 'school kind is a number',
    req: () => json('PUT', NEW_SCHOOL, school({ kind: 1 }), 'admin'),
    status: 400,
    path: 'kind',
  },
  {
    name: 'attendanceSync is a string',
    req: () =>
      json(
        'PUT',
        '/v1/schools/HS1',
        school({ kind: 'high_school', attendanceSync: 'true' }),
        'admin',
      ),
    status: 400,
    path: 'attendanceSync',
  },
  {
    name: 'gradeLevel is a string',
    req: () => json('PUT', NEW_STUDENT, student({ gradeLevel: '11' }), 'hs1'),
    status: 400,
    path: 'gradeLevel',
  },
  {
    name: 'credits is a string',
    req: () => json('PUT', NEW_SECTION, section({ credits: '1' }), 'atc'),
    status: 400,
    path: 'credits',
  },
  {
    name: 'nonInstructionalDays is a string',
    req: () => json('PUT', NEW_CALENDAR, calendar({ nonInstructionalDays: '2027-11-26' }), 'hs1'),
    status: 400,
    path: 'nonInstructionalDays',
  },
  {
    name: 'PUT school body is an array',
    req: () => json('PUT', NEW_SCHOOL, [school()], 'admin'),
    status: 400,
  },

  // Missing fields
  ...['type', 'eventId', 'occurredAt', 'ktsCourseNumber', 'date', 'records'].map((f) => ({
    name: `attendance without ${f}`,
    req: () => json('POST', EVENTS, omit(att(), f)),
    status: 400,
    path: f,
  })),
  {
    name: 'attendance with no records',
    req: () => json('POST', EVENTS, attRecords([])),
    status: 400,
    path: 'records',
  },
  {
    name: 'record without status',
    req: () =>
      json('POST', EVENTS, attRecords([{ studentId: c.students.hs1[0], excuse: 'unknown' }])),
    status: 400,
    path: 'records.0.status',
  },
  {
    name: 'record without studentId',
    req: () => json('POST', EVENTS, attRecords([{ status: 'present' }])),
    status: 400,
    path: 'records.0.studentId',
  },
  {
    name: 'absent record without excuse',
    req: () =>
      json('POST', EVENTS, attRecords([{ studentId: c.students.hs1[0], status: 'absent' }])),
    status: 400,
    path: 'records.0.excuse',
  },
  {
    name: 'present record with an excuse',
    req: () => json('POST', EVENTS, att({}, { status: 'present', excuse: 'excused' })),
    status: 400,
    path: 'records.0.excuse',
  },
  {
    name: 'grade record with neither grade',
    req: () =>
      json('POST', EVENTS, hsGrade({ records: [{ studentId: c.students.hs1[0] }] }), 'hs1'),
    status: 400,
    path: 'records.0.letterGrade',
  },
  {
    name: 'grade with both ktsCourseNumber and course',
    req: () => json('POST', EVENTS, hsGrade({ ktsCourseNumber: c.sections.atcWelding }), 'hs1'),
    status: 400,
    path: 'ktsCourseNumber',
  },
  {
    name: 'enrollment add without periods',
    req: () => json('POST', EVENTS, enr({ hsPeriods: [] }), 'hs1'),
    status: 400,
    path: 'hsPeriods',
  },
  {
    name: 'coded without code',
    req: () => json('POST', EVENTS, omit(coded(), 'code'), 'hs1'),
    status: 400,
    path: 'code',
  },
  {
    name: 'state office event without schoolId',
    req: () => json('POST', EVENTS, att(), 'admin'),
    status: 400,
    path: 'schoolId',
  },
  {
    name: 'PUT school without timezone',
    req: () => json('PUT', NEW_SCHOOL, omit(school(), 'timezone'), 'admin'),
    status: 400,
    path: 'timezone',
  },
  {
    name: 'PUT student without lastName',
    req: () => json('PUT', NEW_STUDENT, omit(student(), 'lastName'), 'hs1'),
    status: 400,
    path: 'lastName',
  },
  {
    name: 'PUT section without term',
    req: () => json('PUT', NEW_SECTION, omit(section(), 'term'), 'atc'),
    status: 400,
    path: 'term',
  },
  {
    name: 'PUT calendar without firstDay',
    req: () => json('PUT', NEW_CALENDAR, omit(calendar(), 'firstDay'), 'hs1'),
    status: 400,
    path: 'firstDay',
  },
  {
    name: 'PUT student with an empty object',
    req: () => json('PUT', NEW_STUDENT, {}, 'hs1'),
    status: 400,
    path: 'homeSchoolId',
  },
  {
    name: 'POST event with no body at all',
    req: () => raw('POST', EVENTS, undefined, {}),
    status: 400,
  },
  {
    name: 'PUT school with no body at all',
    req: () => raw('PUT', NEW_SCHOOL, undefined, {}, 'admin'),
    status: 400,
  },

  // Extra fields
  {
    name: 'event with an unknown field',
    req: () => json('POST', EVENTS, att({ studentName: 'Ada Byron' })),
    status: 400,
    path: 'studentName',
  },
  {
    name: 'record with an unknown field',
    req: () => json('POST', EVENTS, att({}, { ssn: '123-45-6789' })),
    status: 400,
    path: 'records.0.ssn',
  },
  {
    name: 'enrollment with records',
    req: () => json('POST', EVENTS, enr({ records: [] }), 'hs1'),
    status: 400,
    path: 'records',
  },
  {
    name: 'course with an unknown field',
    req: () =>
      json(
        'POST',
        EVENTS,
        hsGrade({
          course: {
            courseId: 'ENG-101',
            courseCode: '230101',
            title: 'English I',
            credits: 1,
            teacher: 'x',
          },
        }),
        'hs1',
      ),
    status: 400,
    path: 'course.teacher',
  },
  {
    name: 'PUT school with id in the body',
    req: () => json('PUT', NEW_SCHOOL, school({ schoolId: 'NEW-ATC-9' }), 'admin'),
    status: 400,
    path: 'schoolId',
  },
  {
    name: 'PUT student with an unknown field',
    req: () => json('PUT', NEW_STUDENT, student({ ssn: '123' }), 'hs1'),
    status: 400,
    path: 'ssn',
  },
  {
    name: 'PUT section with an unknown field',
    req: () => json('PUT', NEW_SECTION, section({ room: 'B2' }), 'atc'),
    status: 400,
    path: 'room',
  },
  {
    name: 'PUT calendar period with an unknown field',
    req: () =>
      json(
        'PUT',
        NEW_CALENDAR,
        calendar({ periods: [{ period: 1, start: '08:00', end: '08:55', room: 1 }] }),
        'hs1',
      ),
    status: 400,
    path: 'periods.0.room',
  },

  // Huge strings (100 KB in one field)
  {
    name: '100 KB eventId',
    req: () => json('POST', EVENTS, att({ eventId: KB100 })),
    status: 400,
    path: 'eventId',
  },
  {
    name: '100 KB local code',
    req: () => json('POST', EVENTS, att({}, { code: KB100 })),
    status: 400,
    path: 'records.0.code',
  },
  {
    name: '100 KB occurredAt',
    req: () => json('POST', EVENTS, att({ occurredAt: `2027-01-19T09:10:00${KB100}-05:00` })),
    status: 400,
    path: 'occurredAt',
  },
  {
    name: '100 KB course title',
    req: () =>
      json(
        'POST',
        EVENTS,
        hsGrade({
          course: { courseId: 'ENG-101', courseCode: '230101', title: KB100, credits: 1 },
        }),
        'hs1',
      ),
    status: 400,
    path: 'course.title',
  },
  {
    name: '100 KB school name',
    req: () => json('PUT', NEW_SCHOOL, school({ name: KB100 }), 'admin'),
    status: 400,
    path: 'name',
  },
  {
    name: '100 KB timezone',
    req: () => json('PUT', NEW_SCHOOL, school({ timezone: KB100 }), 'admin'),
    status: 400,
    path: 'timezone',
  },
  {
    name: '100 KB first name',
    req: () => json('PUT', NEW_STUDENT, student({ firstName: KB100 }), 'hs1'),
    status: 400,
    path: 'firstName',
  },
  {
    name: '100 KB section title',
    req: () => json('PUT', NEW_SECTION, section({ title: KB100 }), 'atc'),
    status: 400,
    path: 'title',
  },
  { name: '100 KB unknown key', req: () => json('POST', EVENTS, att({ [KB100]: 1 })), status: 400 },
  {
    name: '100 KB query value',
    req: () => get(`/v1/catalog/${YEAR}?techSchoolId=${KB100}`),
    status: 400,
    path: 'techSchoolId',
  },

  // Deep nesting, within 1 MiB
  {
    name: '10,000 nested arrays as the event',
    req: () => json('POST', EVENTS, deepArray(10_000)),
    status: 400,
  },
  {
    name: '10,000 nested objects as the event',
    req: () => json('POST', EVENTS, deepObject(10_000)),
    status: 400,
  },
  {
    name: '400,000 nested arrays (800 KB) as the event',
    req: () => json('POST', EVENTS, deepArray(400_000)),
    status: 400,
  },
  {
    name: '150,000 nested objects (900 KB) as the event',
    req: () => json('POST', EVENTS, deepObject(150_000)),
    status: 400,
  },
  {
    name: '10,000 nested arrays as records',
    req: () => json('POST', EVENTS, splice(attRecords('@@RAW@@'), deepArray(10_000))),
    status: 400,
    path: 'records.0',
  },
  {
    name: '10,000 nested objects as a record',
    req: () =>
      json('POST', EVENTS, splice(attRecords(['@@RAW@@']), deepObject(10_000, 'studentId'))),
    status: 400,
    path: 'records.0.studentId',
  },
  {
    name: '10,000 nested objects as eventId',
    req: () => json('POST', EVENTS, splice(att({ eventId: '@@RAW@@' }), deepObject(10_000))),
    status: 400,
    path: 'eventId',
  },
  {
    name: '10,000 nested arrays as a school',
    req: () => json('PUT', NEW_SCHOOL, deepArray(10_000), 'admin'),
    status: 400,
  },
  {
    name: '10,000 nested objects as a school name',
    req: () =>
      json('PUT', NEW_SCHOOL, splice(school({ name: '@@RAW@@' }), deepObject(10_000)), 'admin'),
    status: 400,
    path: 'name',
  },
  {
    name: '10,000 nested objects as a student',
    req: () => json('PUT', NEW_STUDENT, deepObject(10_000, 'homeSchoolId'), 'hs1'),
    status: 400,
    path: 'homeSchoolId',
  },
  {
    name: '10,000 nested arrays as calendar periods',
    req: () =>
      json('PUT', NEW_CALENDAR, splice(calendar({ periods: '@@RAW@@' }), deepArray(10_000)), 'hs1'),
    status: 400,
    path: 'periods.0',
  },
  {
    name: '10,000 nested __proto__ objects',
    req: () => json('POST', EVENTS, deepObject(10_000, '__proto__')),
    status: 400,
  },

  // Body size: 1 MiB + 1 byte
  {
    name: 'event of 1 MiB + 1 byte',
    req: () => json('POST', EVENTS, bodyOfSize(MiB + 1)),
    status: 413,
  },
  { name: 'event of 5 MiB', req: () => json('POST', EVENTS, bodyOfSize(5 * MiB)), status: 413 },
  {
    name: 'PUT student of 1 MiB + 1 byte',
    req: () => json('PUT', NEW_STUDENT, bodyOfSize(MiB + 1), 'hs1'),
    status: 413,
  },
  {
    name: 'PUT school of 1 MiB + 1 byte',
    req: () => json('PUT', NEW_SCHOOL, bodyOfSize(MiB + 1), 'admin'),
    status: 413,
  },
  {
    name: 'Content-Length announcing 2 MiB',
    req: () =>
      raw('POST', EVENTS, JSON.stringify(att()), {
        'content-type': 'application/json',
        'content-length': String(2 * MiB),
      }),
    status: 413,
  },
  {
    name: 'Content-Length shorter than the body',
    req: () =>
      raw('POST', EVENTS, JSON.stringify(att()), {
        'content-type': 'application/json',
        'content-length': '5',
      }),
    status: 400,
  },
  {
    name: '1 MiB + 1 byte without a token',
    req: () => json('POST', EVENTS, bodyOfSize(MiB + 1), 'none'),
    status: 401,
  },

  // Unicode and control characters
  {
    name: 'NUL in eventId',
    req: () => json('POST', EVENTS, att({ eventId: 'ab\u0000cd' })),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'RTL mark in eventId',
    req: () => json('POST', EVENTS, att({ eventId: '\u200fabc' })),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'RTL override in ktsCourseNumber',
    req: () => json('POST', EVENTS, att({ ktsCourseNumber: `\u202e${c.sections.atcWelding}` })),
    status: 400,
    path: 'ktsCourseNumber',
  },
  {
    name: 'emoji in eventId',
    req: () => json('POST', EVENTS, att({ eventId: 'att-🎓-1' })),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'Arabic-Indic digits as studentId',
    req: () => json('POST', EVENTS, att({}, { studentId: '١٠٠٠٠٠٠٠٠١' })),
    status: 400,
    path: 'records.0.studentId',
  },
  {
    name: 'fullwidth digits as studentId',
    req: () => json('POST', EVENTS, att({}, { studentId: '１０００００００００１' })),
    status: 400,
    path: 'records.0.studentId',
  },
  {
    name: 'zero-width space in studentId',
    req: () => json('POST', EVENTS, att({}, { studentId: `${c.students.hs1[0]}\u200b` })),
    status: 400,
    path: 'records.0.studentId',
  },
  {
    name: 'lone surrogate in eventId',
    req: () => json('POST', EVENTS, splice(att({ eventId: '@@RAW@@' }), '"ab\\ud800"')),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'emoji status',
    req: () => json('POST', EVENTS, att({}, { status: '🤒' })),
    status: 400,
    path: 'records.0.status',
  },
  {
    name: 'NUL in local code',
    req: () => json('POST', EVENTS, att({}, { code: 'A\u0000' })),
    status: 400,
    path: 'records.0.code',
  },
  {
    name: 'NUL in school name',
    req: () => json('PUT', NEW_SCHOOL, school({ name: 'Valley\u0000ATC' }), 'admin'),
    status: 400,
    path: 'name',
  },
  {
    name: 'bell character in a first name',
    req: () => json('PUT', NEW_STUDENT, student({ firstName: 'Ada\u0007' }), 'hs1'),
    status: 400,
    path: 'firstName',
  },
  {
    name: 'escape sequence in a section title',
    req: () => json('PUT', NEW_SECTION, section({ title: '\u001b[31mWelding' }), 'atc'),
    status: 400,
    path: 'title',
  },
  {
    name: 'DEL character in a course title',
    req: () =>
      json(
        'POST',
        EVENTS,
        hsGrade({
          course: { courseId: 'ENG-101', courseCode: '230101', title: 'Eng\u007f', credits: 1 },
        }),
        'hs1',
      ),
    status: 400,
    path: 'course.title',
  },
  {
    name: 'lone high surrogate in a student last name',
    req: () =>
      json(
        'PUT',
        '/v1/students/1000008888',
        splice(student({ lastName: '@@RAW@@' }), '"Byron\\ud800"'),
        'hs1',
      ),
    status: 400,
    path: 'lastName',
  },
  {
    name: 'lone low surrogate in a school name',
    req: () =>
      json(
        'PUT',
        '/v1/schools/SURROGATE-1',
        splice(school({ name: '@@RAW@@' }), '"\\udc00 Valley"'),
        'admin',
      ),
    status: 400,
    path: 'name',
  },
  {
    name: 'invalid UTF-8 bytes in a school name',
    req: () =>
      raw(
        'PUT',
        '/v1/schools/BAD-UTF8-1',
        Buffer.concat([
          Buffer.from('{"name":"Valley '),
          Buffer.from([0xff, 0xfe, 0xc3]),
          Buffer.from('","kind":"atc","districtId":"D-017","timezone":"America/New_York"}'),
        ]),
        { 'content-type': 'application/json' },
        'admin',
      ),
    status: 400,
    path: 'name',
  },
  {
    name: 'NUL in a path id',
    req: () => get('/v1/events/ab%00cd?schoolId=HS1'),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'NUL in a query value',
    req: () => get('/v1/high-schools/HS1/attendance?date=2027-01-19%00', 'hs1'),
    status: 400,
    path: 'date',
  },
  {
    name: 'malformed percent-encoding in a path id',
    req: () => get('/v1/students/%E0%A4%A'),
    status: 400,
  },
  {
    name: 'malformed percent-encoding in a query value',
    req: () => get(`/v1/catalog/${YEAR}?techSchoolId=%E0%A4%A`),
    status: 400,
    path: 'techSchoolId',
  },

  // Injection strings in ids and enum fields
  ...INJECTIONS.flatMap((s, i): Case[] => [
    {
      name: `injection #${i} as eventId`,
      req: () => json('POST', EVENTS, att({ eventId: s })),
      status: 400,
      path: 'eventId',
    },
    {
      name: `injection #${i} as ktsCourseNumber`,
      req: () => json('POST', EVENTS, att({ ktsCourseNumber: s })),
      status: 400,
      path: 'ktsCourseNumber',
    },
    {
      name: `injection #${i} as studentId`,
      req: () => json('POST', EVENTS, att({}, { studentId: s })),
      status: 400,
      path: 'records.0.studentId',
    },
    {
      name: `injection #${i} as local code`,
      req: () => json('POST', EVENTS, att({}, { code: s })),
      status: 400,
      path: 'records.0.code',
    },
    {
      name: `injection #${i} as status`,
      req: () => json('POST', EVENTS, att({}, { status: s })),
      status: 400,
      path: 'records.0.status',
    },
    {
      name: `injection #${i} as schoolId in the event`,
      req: () => json('POST', EVENTS, att({ schoolId: s }), 'admin'),
      status: 400,
      path: 'schoolId',
    },
    {
      name: `injection #${i} as districtId`,
      req: () => json('PUT', NEW_SCHOOL, school({ districtId: s }), 'admin'),
      status: 400,
      path: 'districtId',
    },
    {
      name: `injection #${i} as homeSchoolId`,
      req: () => json('PUT', NEW_STUDENT, student({ homeSchoolId: s }), 'hs1'),
      status: 400,
      path: 'homeSchoolId',
    },
    {
      name: `injection #${i} as timezone`,
      req: () => json('PUT', NEW_SCHOOL, school({ timezone: s }), 'admin'),
      status: 400,
      path: 'timezone',
    },
    {
      name: `injection #${i} in the studentId path`,
      req: () => json('PUT', `/v1/students/${encodeURIComponent(s)}`, student(), 'hs1'),
      status: 400,
      path: 'studentId',
    },
    {
      name: `injection #${i} in the schoolId path`,
      req: () => json('PUT', `/v1/schools/${encodeURIComponent(s)}`, school(), 'admin'),
      status: 400,
      path: 'schoolId',
    },
    {
      name: `injection #${i} in the eventId path`,
      req: () => get(`/v1/events/${encodeURIComponent(s)}?schoolId=HS1`),
      status: 400,
      path: 'eventId',
    },
    {
      name: `injection #${i} in the ktsCourseNumber path`,
      req: () =>
        json(
          'PUT',
          `/v1/tech-centers/ATC1/sections/${YEAR}/${encodeURIComponent(s)}`,
          section(),
          'atc',
        ),
      status: 400,
      path: 'ktsCourseNumber',
    },
    {
      name: `injection #${i} in a query date`,
      req: () =>
        get(`/v1/high-schools/HS1/attendance?date=${encodeURIComponent(`2027-01-19${s}`)}`, 'hs1'),
      status: 400,
      path: 'date',
    },
    {
      name: `injection #${i} in a query id`,
      req: () => get(`/v1/catalog/${YEAR}?techSchoolId=${encodeURIComponent(s)}`),
      status: 400,
      path: 'techSchoolId',
    },
  ]),
  { name: 'raw ../ in a path', req: () => get('/v1/students/../../etc/passwd'), status: 404 },
  {
    name: 'encoded ../ as a student id',
    req: () => get('/v1/students/..%2F..%2Fetc%2Fpasswd'),
    status: 400,
    path: 'studentId',
  },

  // Wrong content types
  ...(
    [
      ['text/plain', JSON.stringify({ type: 'attendance-entered' })],
      ['text/plain; charset=utf-8', '{}'],
      ['application/x-www-form-urlencoded', 'type=attendance-entered&eventId=a1'],
      [
        'multipart/form-data; boundary=XyZ',
        '--XyZ\r\nContent-Disposition: form-data; name="type"\r\n\r\nattendance-entered\r\n--XyZ--\r\n',
      ],
      ['application/xml', '<event type="attendance-entered"/>'],
      ['application/jsonx', '{}'],
      ['application/octet-stream', '{}'],
      ['json', '{}'],
    ] as const
  ).flatMap(([ct, payload]): Case[] => [
    {
      name: `event sent as ${ct}`,
      req: () => raw('POST', EVENTS, payload, { 'content-type': ct }),
      status: 400,
    },
    {
      name: `PUT student sent as ${ct}`,
      req: () => raw('PUT', NEW_STUDENT, payload, { 'content-type': ct }, 'hs1'),
      status: 400,
    },
  ]),
  {
    name: 'event with a body and no content type',
    req: () => raw('POST', EVENTS, JSON.stringify({ type: 'x' }), {}),
    status: 400,
  },
  {
    name: 'PUT school with a body and no content type',
    req: () => raw('PUT', NEW_SCHOOL, JSON.stringify(school()), {}, 'admin'),
    status: 400,
  },
  {
    name: 'event in UTF-16',
    req: () =>
      raw('POST', EVENTS, Buffer.from(JSON.stringify({ type: 'attendance-entered' }), 'utf16le'), {
        'content-type': 'application/json; charset=utf-16',
      }),
    status: 400,
  },

  // Malformed JSON
  ...(
    [
      ['truncated', '{"type":"attendance-entered","eventId":'],
      ['single quotes', "{'type':'attendance-entered'}"],
      ['trailing comma', '{"type":"attendance-entered",}'],
      ['NaN literal', '{"type":"attendance-entered","minutesAbsent":NaN}'],
      ['Infinity literal', '{"minutesAbsent":Infinity}'],
      ['trailing garbage', '{"type":"attendance-entered"}garbage'],
      ['two objects', '{"type":"a"}{"type":"b"}'],
      ['comment', '{/* hi */"type":"attendance-entered"}'],
      ['unquoted key', '{type:"attendance-entered"}'],
      ['bad escape', '{"eventId":"\\x41"}'],
      ['unterminated string', '{"eventId":"abc}'],
      ['raw newline in a string', '{"eventId":"a\nb"}'],
      ['empty', ''],
      ['whitespace only', '   \n\t '],
      ['only a BOM', '\ufeff'],
      ['undefined', 'undefined'],
      ['hex number', '{"period":0x10}'],
    ] as const
  ).flatMap(([what, payload]): Case[] => [
    {
      name: `malformed JSON event: ${what}`,
      req: () => json('POST', EVENTS, payload),
      status: 400,
    },
    {
      name: `malformed JSON school: ${what}`,
      req: () => json('PUT', NEW_SCHOOL, payload, 'admin'),
      status: 400,
    },
  ]),
  {
    name: 'malformed JSON without a token',
    req: () => json('POST', EVENTS, '{"type":', 'none'),
    status: 401,
  },

  // Prototype keys
  {
    name: '__proto__ at the top of an event',
    req: () => json('POST', EVENTS, '{"__proto__":{"isAdmin":true},"type":"attendance-entered"}'),
    status: 400,
  },
  {
    name: '__proto__ in a record',
    req: () =>
      json(
        'POST',
        EVENTS,
        splice(
          attRecords(['@@RAW@@']),
          `{"studentId":"${c.students.hs1[0]}","status":"present","__proto__":{"excuse":"excused"}}`,
        ),
      ),
    status: 400,
  },
  {
    name: 'constructor.prototype in an event',
    req: () =>
      json(
        'POST',
        EVENTS,
        splice(att({ constructor: '@@RAW@@' }), '{"prototype":{"isAdmin":true}}'),
      ),
    status: 400,
  },
  {
    name: 'constructor.prototype in a record',
    req: () =>
      json('POST', EVENTS, splice(att({}, { constructor: '@@RAW@@' }), '{"prototype":{"x":1}}')),
    status: 400,
  },
  {
    name: '__proto__ in a school',
    req: () =>
      json(
        'PUT',
        NEW_SCHOOL,
        JSON.stringify(school()).replace('{', '{"__proto__":{"kind":"atc"},'),
        'admin',
      ),
    status: 400,
  },
  {
    name: '__proto__ in a student',
    req: () =>
      json(
        'PUT',
        NEW_STUDENT,
        JSON.stringify(student()).replace('{', '{"__proto__":{"gradeLevel":9},'),
        'hs1',
      ),
    status: 400,
  },
  {
    name: 'constructor key with a plain value',
    req: () => json('POST', EVENTS, att({ constructor: 'x' })),
    status: 400,
    path: 'constructor',
  },
  {
    name: 'prototype key',
    req: () => json('POST', EVENTS, att({ prototype: {} })),
    status: 400,
    path: 'prototype',
  },
  {
    name: '__proto__ as a query parameter',
    req: () => get(`/v1/catalog/${YEAR}?__proto__=x`),
    status: 400,
  },

  // Duplicates
  {
    name: 'the same studentId twice in attendance',
    req: () =>
      json(
        'POST',
        EVENTS,
        attRecords([
          { studentId: c.students.hs1[0], status: 'present' },
          { studentId: c.students.hs1[1], status: 'present' },
          { studentId: c.students.hs1[0], status: 'absent', excuse: 'unknown' },
        ]),
      ),
    status: 400,
    path: 'records.2',
  },
  {
    name: 'the same studentId twice in grades',
    req: () =>
      json(
        'POST',
        EVENTS,
        hsGrade({
          records: [
            { studentId: c.students.hs1[0], letterGrade: 'A' },
            { studentId: c.students.hs1[0], letterGrade: 'B' },
          ],
        }),
        'hs1',
      ),
    status: 400,
    path: 'records.1',
  },
  {
    name: 'the same period twice in hsPeriods',
    req: () => json('POST', EVENTS, enr({ hsPeriods: [1, 2, 1] }), 'hs1'),
    status: 400,
    path: 'hsPeriods',
  },
  {
    name: 'the same period twice in a calendar',
    req: () =>
      json(
        'PUT',
        NEW_CALENDAR,
        calendar({
          periods: [
            { period: 1, start: '08:00', end: '08:55' },
            { period: 1, start: '09:00', end: '09:55' },
          ],
        }),
        'hs1',
      ),
    status: 400,
    path: 'periods',
  },
  {
    name: 'a stored eventId again with another body',
    req: () =>
      json('POST', EVENTS, {
        ...stored,
        records: [{ studentId: c.students.hs1[0], status: 'absent', excuse: 'unknown' }],
      }),
    status: 409,
  },
  {
    name: 'a stored eventId again with another date',
    req: () => json('POST', EVENTS, { ...stored, date: '2027-01-15' }),
    status: 409,
  },
  {
    name: 'a stored eventId again, posted by the state office for ATC1',
    req: () =>
      json(
        'POST',
        EVENTS,
        { ...stored, occurredAt: '2027-01-19T09:11:00-05:00', schoolId: 'ATC1' },
        'admin',
      ),
    status: 409,
  },

  // eventIds
  {
    name: 'eventId with a colon',
    req: () => json('POST', EVENTS, att({ eventId: 'ATC1:att:1' })),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'eventId of 101 characters',
    req: () => json('POST', EVENTS, att({ eventId: 'a'.repeat(101) })),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'empty eventId',
    req: () => json('POST', EVENTS, att({ eventId: '' })),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'eventId with a space',
    req: () => json('POST', EVENTS, att({ eventId: 'att 1' })),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'eventId with a slash',
    req: () => json('POST', EVENTS, att({ eventId: 'att/1' })),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'GET an eventId with a colon',
    req: () => get('/v1/events/ATC1:att:1', 'atc'),
    status: 400,
    path: 'eventId',
  },
  {
    name: 'GET an eventId of 101 characters',
    req: () => get(`/v1/events/${'a'.repeat(101)}`, 'atc'),
    status: 400,
    path: 'eventId',
  },

  // Dates
  ...[
    '2027-02-30',
    '2027-13-01',
    '27-01-01',
    '2027-1-1',
    '2027-00-10',
    '2027-01-32',
    '2027-02-29',
    '2027-01-19T00:00:00Z',
    '20270119',
    '0000-01-01',
    '',
  ].flatMap((d): Case[] => [
    {
      name: `attendance date ${JSON.stringify(d)}`,
      req: () => json('POST', EVENTS, att({ date: d })),
      status: 400,
      path: 'date',
    },
    {
      name: `report date ${JSON.stringify(d)}`,
      req: () => get(`/v1/high-schools/HS1/attendance?date=${encodeURIComponent(d)}`, 'hs1'),
      status: 400,
      path: 'date',
    },
  ]),
  {
    name: 'effectiveDate 2027-02-29',
    req: () => json('POST', EVENTS, enr({ effectiveDate: '2027-02-29' }), 'hs1'),
    status: 400,
    path: 'effectiveDate',
  },
  {
    name: 'coded date 2027-13-01',
    req: () => json('POST', EVENTS, coded({ date: '2027-13-01' }), 'hs1'),
    status: 400,
    path: 'date',
  },
  {
    name: 'calendar firstDay 2027-02-30',
    req: () => json('PUT', NEW_CALENDAR, calendar({ firstDay: '2027-02-30' }), 'hs1'),
    status: 400,
    path: 'firstDay',
  },
  {
    name: 'calendar lastDay before firstDay',
    req: () =>
      json('PUT', NEW_CALENDAR, calendar({ firstDay: '2028-05-26', lastDay: '2027-08-11' }), 'hs1'),
    status: 400,
    path: 'lastDay',
  },
  {
    name: 'calendar outside its school year',
    req: () => json('PUT', NEW_CALENDAR, calendar({ firstDay: '2027-06-01' }), 'hs1'),
    status: 400,
    path: 'firstDay',
  },
  {
    name: 'non-instructional day outside the calendar',
    req: () => json('PUT', NEW_CALENDAR, calendar({ nonInstructionalDays: ['2028-06-15'] }), 'hs1'),
    status: 400,
    path: 'nonInstructionalDays.0',
  },
  {
    name: 'non-instructional day 2027-11-31',
    req: () => json('PUT', NEW_CALENDAR, calendar({ nonInstructionalDays: ['2027-11-31'] }), 'hs1'),
    status: 400,
    path: 'nonInstructionalDays.0',
  },
  {
    name: 'period start 24:00',
    req: () =>
      json(
        'PUT',
        NEW_CALENDAR,
        calendar({ periods: [{ period: 1, start: '24:00', end: '08:55' }] }),
        'hs1',
      ),
    status: 400,
    path: 'periods.0.start',
  },
  {
    name: 'roster asOf 2027-13-01',
    req: () =>
      get(`/v1/tech-centers/ATC1/rosters/${YEAR}/${c.sections.atcWelding}?asOf=2027-13-01`, 'atc'),
    status: 400,
    path: 'asOf',
  },
  {
    name: 'history from 27-01-01',
    req: () => get(`/v1/students/${c.students.hs1[0]}/history?from=27-01-01`, 'hs1'),
    status: 400,
    path: 'from',
  },
  {
    name: 'sync runs on 2027-02-30',
    req: () => get('/v1/admin/sync-runs?date=2027-02-30'),
    status: 400,
    path: 'date',
  },
  {
    name: 'sync run for 2027-02-30',
    req: () => json('POST', '/v1/admin/sync-runs', { date: '2027-02-30' }, 'admin'),
    status: 400,
    path: 'date',
  },
  {
    name: 'school year 2026-2028 in a path',
    req: () => json('PUT', '/v1/schools/HS1/calendars/2026-2028', calendar(), 'hs1'),
    status: 400,
    path: 'schoolYear',
  },
  {
    name: 'school year 2026 in a path',
    req: () => get('/v1/catalog/2026', 'hs1'),
    status: 400,
    path: 'schoolYear',
  },
  {
    name: 'school year 2027-2026 in an event',
    req: () => json('POST', EVENTS, enr({ schoolYear: '2027-2026' }), 'hs1'),
    status: 400,
    path: 'schoolYear',
  },

  // Instants
  ...(
    [
      '2027-01-19T09:10:00',
      '2027-01-19T09:10',
      '2027-01-19',
      '2027-01-19 09:10:00-05:00',
      '2027-01-19T09:10:00+25:00',
      '2027-01-19T24:00:00Z',
      '2027-02-30T09:10:00Z',
      'Tue, 19 Jan 2027 14:10:00 GMT',
      'now',
      '',
      '2027-01-19T09:10:00.000000000000000000000000000-05:00',
      // Valid-looking instants whose UTC form falls outside years 0000-9999.
      '9999-12-31T23:30:00-05:00',
      '0000-01-01T00:30:00+05:00',
    ] as const
  ).flatMap((s): Case[] => [
    {
      name: `occurredAt ${JSON.stringify(s)}`,
      req: () => json('POST', EVENTS, att({ occurredAt: s })),
      status: 400,
      path: 'occurredAt',
    },
  ]),
  {
    name: 'rejections since an instant without offset',
    req: () => get('/v1/schools/ATC1/rejections?since=2027-01-19T09:10:00', 'atc'),
    status: 400,
    path: 'since',
  },
  {
    name: 'rejections since NaN',
    req: () => get('/v1/schools/ATC1/rejections?since=NaN', 'atc'),
    status: 400,
    path: 'since',
  },

  // 501 records
  {
    name: '501 attendance records',
    req: () =>
      json(
        'POST',
        EVENTS,
        attRecords(
          Array.from({ length: 501 }, (_, i) => ({
            studentId: String(2_000_000_000 + i),
            status: 'present',
          })),
        ),
      ),
    status: 400,
    path: 'records',
  },
  {
    name: '501 grade records',
    req: () =>
      json(
        'POST',
        EVENTS,
        hsGrade({
          records: Array.from({ length: 501 }, (_, i) => ({
            studentId: String(2_000_000_000 + i),
            numericGrade: 90,
          })),
        }),
        'hs1',
      ),
    status: 400,
    path: 'records',
  },
  {
    name: '21 hsPeriods',
    req: () =>
      json('POST', EVENTS, enr({ hsPeriods: Array.from({ length: 21 }, (_, i) => i) }), 'hs1'),
    status: 400,
    path: 'hsPeriods',
  },
  {
    name: '367 non-instructional days',
    req: () =>
      json(
        'PUT',
        NEW_CALENDAR,
        calendar({ nonInstructionalDays: Array.from({ length: 367 }, () => '2027-11-26') }),
        'hs1',
      ),
    status: 400,
    path: 'nonInstructionalDays',
  },

  // Other schools' ids, roles and kinds
  {
    name: 'a high school naming another school in its event',
    req: () => json('POST', EVENTS, enr({ schoolId: 'HS2' }), 'hs1'),
    status: 403,
  },
  {
    name: 'a center naming another center in its event',
    req: () => json('POST', EVENTS, att({ schoolId: 'CTC1' }), 'atc'),
    status: 403,
  },
  {
    name: "a center writing attendance to another center's section",
    req: () => json('POST', EVENTS, att({ ktsCourseNumber: c.sections.ctcAuto }), 'atc'),
    status: 403,
  },
  {
    name: "a center posting grades to another center's section",
    req: () =>
      json(
        'POST',
        EVENTS,
        { ...omit(hsGrade(), 'course'), ktsCourseNumber: c.sections.ctcAuto },
        'atc',
      ),
    status: 403,
  },
  {
    name: 'a high school sending attendance-entered',
    req: () => json('POST', EVENTS, att(), 'hs1'),
    status: 403,
  },
  {
    name: 'a center sending enrollment-changed',
    req: () => json('POST', EVENTS, enr(), 'atc'),
    status: 403,
  },
  {
    name: 'a center sending attendance-coded',
    req: () => json('POST', EVENTS, coded(), 'ctc'),
    status: 403,
  },
  { name: 'ops posting an event', req: () => json('POST', EVENTS, att(), 'ops'), status: 403 },
  {
    name: "a high school setting another school's calendar",
    req: () => json('PUT', '/v1/schools/HS2/calendars/2027-2028', calendar(), 'hs1'),
    status: 403,
  },
  {
    name: 'a high school registering a school',
    req: () => json('PUT', '/v1/schools/HS1', school({ kind: 'high_school' }), 'hs1'),
    status: 403,
  },
  {
    name: "a center publishing another center's section",
    req: () => json('PUT', `/v1/tech-centers/CTC1/sections/${YEAR}/CTC1-NEW-1`, section(), 'atc'),
    status: 403,
  },
  {
    name: 'a high school publishing a section',
    req: () => json('PUT', `/v1/tech-centers/HS1/sections/${YEAR}/HS1-NEW-1`, section(), 'hs1'),
    status: 403,
  },
  {
    name: 'the state office publishing a section for a high school',
    req: () => json('PUT', `/v1/tech-centers/HS1/sections/${YEAR}/HS1-NEW-1`, section(), 'admin'),
    status: 403,
  },
  {
    name: 'a high school registering a student for another school',
    req: () => json('PUT', NEW_STUDENT, student({ homeSchoolId: 'HS2' }), 'hs1'),
    status: 403,
  },
  {
    name: 'a center registering a student',
    req: () => json('PUT', NEW_STUDENT, student(), 'atc'),
    status: 403,
  },
  {
    name: "a high school PUTting another school's student",
    req: () =>
      json('PUT', `/v1/students/${c.students.hs2[0]}`, student({ homeSchoolId: 'HS1' }), 'hs1'),
    status: 409,
  },
  {
    name: "a high school reading another school's attendance",
    req: () => get('/v1/high-schools/HS2/attendance?date=2027-01-19', 'hs1'),
    status: 403,
  },
  {
    name: "a high school reading another school's rejections",
    req: () => get('/v1/schools/HS2/rejections', 'hs1'),
    status: 403,
  },
  {
    name: "a high school reading another school's events",
    req: () => get(`/v1/events/${stored.eventId}?schoolId=ATC1`, 'hs1'),
    status: 403,
  },
  {
    name: "a center reading another center's roster",
    req: () => get(`/v1/tech-centers/CTC1/rosters/${YEAR}/${c.sections.ctcAuto}`, 'atc'),
    status: 403,
  },
  {
    name: "a center reading another center's section through its own path",
    req: () => get(`/v1/tech-centers/ATC1/rosters/${YEAR}/${c.sections.ctcAuto}`, 'atc'),
    status: 403,
  },
  {
    name: "a high school reading another school's student",
    req: () => get(`/v1/students/${c.students.hs2[0]}`, 'hs1'),
    status: 404,
  },
  {
    name: "a high school reading another school's unknowns",
    req: () => get('/v1/high-schools/HS2/unknowns', 'hs1'),
    status: 403,
  },
  { name: 'ops reading the catalog', req: () => get(`/v1/catalog/${YEAR}`, 'ops'), status: 403 },
  {
    name: 'a school creating credentials',
    req: () => json('POST', '/v1/credentials', { schoolId: 'HS1' }, 'hs1'),
    status: 403,
  },

  // Not found, unprocessable, conflict
  { name: 'an unknown route', req: () => get('/v1/nope'), status: 404 },
  { name: 'POST to a misspelt route', req: () => json('POST', '/v1/event', att()), status: 404 },
  { name: 'PATCH an event', req: () => json('PATCH', EVENTS, att()), status: 404 },
  {
    name: 'GET an event that does not exist',
    req: () => get('/v1/events/never-sent-1', 'atc'),
    status: 404,
  },
  {
    name: 'a calendar for an unregistered school',
    req: () => json('PUT', '/v1/schools/NOPE-1/calendars/2027-2028', calendar(), 'admin'),
    status: 404,
  },
  {
    name: 'a section for an unregistered center',
    req: () => json('PUT', `/v1/tech-centers/NOPE-1/sections/${YEAR}/NOPE-1-X`, section(), 'admin'),
    status: 404,
  },
  {
    name: 'revoking a credential that does not exist',
    req: () =>
      raw('DELETE', '/v1/credentials/00000000-0000-4000-8000-000000000000', undefined, {}, 'admin'),
    status: 404,
  },
  {
    name: 'a student homed at an unregistered school',
    req: () => json('PUT', NEW_STUDENT, student({ homeSchoolId: 'NOPE-1' }), 'admin'),
    status: 422,
  },
  {
    name: 'a student homed at a tech center',
    req: () => json('PUT', NEW_STUDENT, student({ homeSchoolId: 'ATC1' }), 'admin'),
    status: 422,
  },
  {
    name: 'the state office posting for an unregistered school',
    req: () => json('POST', EVENTS, att({ schoolId: 'NOPE-1' }), 'admin'),
    status: 422,
  },
  {
    name: 'a credential for an unregistered school',
    req: () => json('POST', '/v1/credentials', { schoolId: 'NOPE-1' }, 'admin'),
    status: 422,
  },
  {
    name: "a center publishing another center's course number",
    req: () =>
      json('PUT', `/v1/tech-centers/ATC1/sections/${YEAR}/${c.sections.ctcAuto}`, section(), 'atc'),
    status: 409,
  },

  // Query parameters
  {
    name: 'date repeated',
    req: () => get('/v1/high-schools/HS1/attendance?date=2027-01-19&date=2027-01-20', 'hs1'),
    status: 400,
    path: 'date',
  },
  {
    name: 'date missing',
    req: () => get('/v1/high-schools/HS1/attendance', 'hs1'),
    status: 400,
    path: 'date',
  },
  {
    name: 'techSchoolId repeated',
    req: () => get(`/v1/catalog/${YEAR}?techSchoolId=ATC1&techSchoolId=CTC1`),
    status: 400,
    path: 'techSchoolId',
  },
  {
    name: 'techSchoolId[]',
    req: () => get(`/v1/catalog/${YEAR}?techSchoolId[]=ATC1`),
    status: 400,
    path: 'techSchoolId[]',
  },
  {
    name: 'an unknown query parameter',
    req: () => get(`/v1/catalog/${YEAR}?foo=1`),
    status: 400,
    path: 'foo',
  },
  {
    name: '5,000 unknown query parameters',
    req: () =>
      get(`/v1/catalog/${YEAR}?${Array.from({ length: 5000 }, (_, i) => `p${i}=1`).join('&')}`),
    status: 400,
  },
  ...['0', '1001', 'abc', '1e309', '-0', 'NaN', 'Infinity', '-1', '2.5', '', '1&limit=2'].map(
    (v): Case => ({
      name: `limit=${v}`,
      req: () => get(`/v1/catalog/${YEAR}?limit=${v}`),
      status: 400,
      path: 'limit',
    }),
  ),
  {
    name: 'schoolId repeated for an event',
    req: () => get(`/v1/events/${stored.eventId}?schoolId=ATC1&schoolId=HS1`),
    status: 400,
    path: 'schoolId',
  },
  {
    name: 'state office reading an event without schoolId',
    req: () => get(`/v1/events/${stored.eventId}`),
    status: 400,
    path: 'schoolId',
  },
  {
    name: 'eligibility for 2026-2028',
    req: () =>
      get(`/v1/students/${c.students.hs1[0]}/eligibility?schoolYear=2026-2028&term=S1`, 'hs1'),
    status: 400,
    path: 'schoolYear',
  },
  {
    name: 'eligibility for term Q5',
    req: () =>
      get(`/v1/students/${c.students.hs1[0]}/eligibility?schoolYear=${YEAR}&term=Q5`, 'hs1'),
    status: 400,
    path: 'term',
  },
  {
    name: 'report card for term s1',
    req: () => get(`/v1/students/${c.students.hs1[0]}/report-card?term=s1`, 'hs1'),
    status: 400,
    path: 'term',
  },
  {
    name: 'transcript with a query parameter',
    req: () => get(`/v1/students/${c.students.hs1[0]}/transcript?schoolYear=${YEAR}`, 'hs1'),
    status: 400,
    path: 'schoolYear',
  },
  {
    name: 'unknowns resolved=yes',
    req: () => get('/v1/high-schools/HS1/unknowns?resolved=yes', 'hs1'),
    status: 400,
    path: 'resolved',
  },
  {
    name: 'a cursor that is not base64 JSON',
    req: () => get(`/v1/catalog/${YEAR}?cursor=!!!`),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'a cursor of 201 characters',
    req: () => get(`/v1/catalog/${YEAR}?cursor=${'A'.repeat(201)}`),
    status: 400,
    path: 'cursor',
  },
  // Cursors are opaque but callers can forge them: a well-formed keyset of the wrong types.
  {
    name: 'catalog cursor with a NUL',
    req: () => get(`/v1/catalog/${YEAR}?cursor=${cursor(['a\u0000b'])}`),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'credentials cursor with a bad id',
    req: () => get(`/v1/credentials?cursor=${cursor(['2027-01-01T00:00:00.000Z', 'not-a-uuid'])}`),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'credentials cursor with a bad instant',
    req: () =>
      get(`/v1/credentials?cursor=${cursor(['garbage', '00000000-0000-4000-8000-000000000000'])}`),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'rejections cursor with a bad instant',
    req: () => get(`/v1/schools/ATC1/rejections?cursor=${cursor(['garbage', 1, 0])}`, 'atc'),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'rejections cursor with a huge number',
    req: () =>
      get(
        `/v1/schools/ATC1/rejections?cursor=${cursor(['2027-01-01T00:00:00.000Z', 1e30, 0])}`,
        'atc',
      ),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'rejections cursor with a string for a number',
    req: () =>
      get(
        `/v1/schools/ATC1/rejections?cursor=${cursor(['2027-01-01T00:00:00.000Z', 'x', 0])}`,
        'atc',
      ),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'history cursor with a string id',
    req: () => get(`/v1/students/${c.students.hs1[0]}/history?cursor=${cursor(['x'])}`, 'hs1'),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'history cursor with a huge id',
    req: () => get(`/v1/students/${c.students.hs1[0]}/history?cursor=${cursor([1e30])}`, 'hs1'),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'sync runs cursor with a bad instant',
    req: () => get(`/v1/admin/sync-runs?cursor=${cursor(['garbage', 'x'])}`),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'unknowns cursor with a bad date',
    req: () =>
      get(`/v1/high-schools/HS1/unknowns?cursor=${cursor(['2027-02-30', '1000000001', 1])}`, 'hs1'),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'unknowns cursor with a huge period',
    req: () =>
      get(
        `/v1/high-schools/HS1/unknowns?cursor=${cursor(['2027-01-19', '1000000001', 1e12])}`,
        'hs1',
      ),
    status: 400,
    path: 'cursor',
  },
  {
    name: 'waivers cursor with a bad instant',
    req: () => get(`/v1/waivers?cursor=${cursor(['garbage', 'x'])}`),
    status: 400,
    path: 'cursor',
  },

  // Numbers
  {
    name: 'minutesAbsent 1e309',
    req: () =>
      json(
        'POST',
        EVENTS,
        JSON.stringify(att({}, { minutesAbsent: 12345 })).replace('12345', '1e309'),
      ),
    status: 400,
    path: 'records.0.minutesAbsent',
  },
  {
    name: 'minutesAbsent -1e309',
    req: () =>
      json(
        'POST',
        EVENTS,
        JSON.stringify(att({}, { minutesAbsent: 12345 })).replace('12345', '-1e309'),
      ),
    status: 400,
    path: 'records.0.minutesAbsent',
  },
  {
    name: 'minutesAbsent 1441',
    req: () => json('POST', EVENTS, att({}, { minutesAbsent: 1441 })),
    status: 400,
    path: 'records.0.minutesAbsent',
  },
  {
    name: 'minutesAbsent "NaN"',
    req: () => json('POST', EVENTS, att({}, { minutesAbsent: 'NaN' })),
    status: 400,
    path: 'records.0.minutesAbsent',
  },
  {
    name: 'numericGrade 1e309',
    req: () =>
      json(
        'POST',
        EVENTS,
        JSON.stringify(
          hsGrade({ records: [{ studentId: c.students.hs1[0], numericGrade: 12345 }] }),
        ).replace('12345', '1e309'),
        'hs1',
      ),
    status: 400,
    path: 'records.0.numericGrade',
  },
  {
    name: 'numericGrade -0.000001',
    req: () =>
      json(
        'POST',
        EVENTS,
        hsGrade({ records: [{ studentId: c.students.hs1[0], numericGrade: -0.000001 }] }),
        'hs1',
      ),
    status: 400,
    path: 'records.0.numericGrade',
  },
  {
    name: 'numericGrade "Infinity"',
    req: () =>
      json(
        'POST',
        EVENTS,
        hsGrade({ records: [{ studentId: c.students.hs1[0], numericGrade: 'Infinity' }] }),
        'hs1',
      ),
    status: 400,
    path: 'records.0.numericGrade',
  },
  {
    name: 'period 1e309',
    req: () =>
      json(
        'POST',
        EVENTS,
        JSON.stringify(coded({ period: 12345 })).replace('12345', '1e309'),
        'hs1',
      ),
    status: 400,
    path: 'period',
  },
  {
    name: 'period 2^53+1',
    req: () =>
      json(
        'POST',
        EVENTS,
        JSON.stringify(coded({ period: 12345 })).replace('12345', '9007199254740993'),
        'hs1',
      ),
    status: 400,
    path: 'period',
  },
  {
    name: 'period -1',
    req: () => json('POST', EVENTS, coded({ period: -1 }), 'hs1'),
    status: 400,
    path: 'period',
  },
  {
    name: 'gradeLevel -0',
    req: () =>
      json(
        'PUT',
        NEW_STUDENT,
        JSON.stringify(student({ gradeLevel: 12345 })).replace('12345', '-0'),
        'hs1',
      ),
    status: 400,
    path: 'gradeLevel',
  },
  {
    name: 'gradeLevel "NaN"',
    req: () => json('PUT', NEW_STUDENT, student({ gradeLevel: 'NaN' }), 'hs1'),
    status: 400,
    path: 'gradeLevel',
  },
  {
    name: 'gradeLevel 11.5',
    req: () => json('PUT', NEW_STUDENT, student({ gradeLevel: 11.5 }), 'hs1'),
    status: 400,
    path: 'gradeLevel',
  },
  {
    name: 'gradeLevel 13',
    req: () => json('PUT', NEW_STUDENT, student({ gradeLevel: 13 }), 'hs1'),
    status: 400,
    path: 'gradeLevel',
  },
  {
    name: 'gradeLevel 1e309',
    req: () =>
      json(
        'PUT',
        NEW_STUDENT,
        JSON.stringify(student({ gradeLevel: 12345 })).replace('12345', '1e309'),
        'hs1',
      ),
    status: 400,
    path: 'gradeLevel',
  },
  {
    name: 'credits 1e309',
    req: () =>
      json(
        'PUT',
        NEW_SECTION,
        JSON.stringify(section({ credits: 12345 })).replace('12345', '1e309'),
        'atc',
      ),
    status: 400,
    path: 'credits',
  },
  {
    name: 'credits "Infinity"',
    req: () => json('PUT', NEW_SECTION, section({ credits: 'Infinity' }), 'atc'),
    status: 400,
    path: 'credits',
  },
  {
    name: 'credits -0.5',
    req: () => json('PUT', NEW_SECTION, section({ credits: -0.5 }), 'atc'),
    status: 400,
    path: 'credits',
  },

  // Very long URLs and path ids
  { name: 'a 100 KB unknown path', req: () => get(`/v1/${'a'.repeat(100 * 1024)}`), status: 404 },
  {
    name: 'a 10 KB student id',
    req: () => get(`/v1/students/${'1'.repeat(10 * 1024)}`),
    status: 400,
    path: 'studentId',
  },
  {
    name: 'a 200-character school id',
    req: () => json('PUT', `/v1/schools/${'A'.repeat(200)}`, school(), 'admin'),
    status: 400,
    path: 'schoolId',
  },
  {
    name: 'a 33-character school id',
    req: () => json('PUT', `/v1/schools/${'A'.repeat(33)}`, school(), 'admin'),
    status: 400,
    path: 'schoolId',
  },
  {
    name: 'a school id with an underscore',
    req: () => json('PUT', '/v1/schools/NEW_ATC', school(), 'admin'),
    status: 400,
    path: 'schoolId',
  },
  {
    name: 'a 9-digit student id',
    req: () => json('PUT', '/v1/students/123456789', student(), 'hs1'),
    status: 400,
    path: 'studentId',
  },
  {
    name: 'a 41-character course number',
    req: () =>
      json('PUT', `/v1/tech-centers/ATC1/sections/${YEAR}/${'A'.repeat(41)}`, section(), 'atc'),
    status: 400,
    path: 'ktsCourseNumber',
  },
  {
    name: 'a course number with a dot',
    req: () => json('PUT', `/v1/tech-centers/ATC1/sections/${YEAR}/ATC1.WLD`, section(), 'atc'),
    status: 400,
    path: 'ktsCourseNumber',
  },
  {
    name: 'a credential id that is not a uuid',
    req: () => raw('DELETE', '/v1/credentials/not-a-uuid', undefined, {}, 'admin'),
    status: 400,
    path: 'credentialId',
  },
  {
    name: 'a sync run id that is not a uuid',
    req: () => get('/v1/admin/sync-runs/42'),
    status: 400,
    path: 'runId',
  },
  {
    name: 'a waiver id that is not a uuid',
    req: () => json('POST', '/v1/waivers/42/decision', { decision: 'approved' }, 'admin'),
    status: 400,
    path: 'waiverId',
  },

  // Other rules of the set-up bodies
  {
    name: 'school kind university',
    req: () => json('PUT', NEW_SCHOOL, school({ kind: 'university' }), 'admin'),
    status: 400,
    path: 'kind',
  },
  {
    name: 'timezone Mars/Olympus',
    req: () => json('PUT', NEW_SCHOOL, school({ timezone: 'Mars/Olympus' }), 'admin'),
    status: 400,
    path: 'timezone',
  },
  {
    name: 'timezone +05:00',
    req: () => json('PUT', NEW_SCHOOL, school({ timezone: '+05:00' }), 'admin'),
    status: 400,
    path: 'timezone',
  },
  {
    name: 'attendanceSync for a center',
    req: () => json('PUT', NEW_SCHOOL, school({ attendanceSync: true }), 'admin'),
    status: 400,
    path: 'attendanceSync',
  },
  {
    name: 'blank school name',
    req: () => json('PUT', NEW_SCHOOL, school({ name: '   ' }), 'admin'),
    status: 400,
    path: 'name',
  },
  {
    name: 'a 5-digit course code',
    req: () => json('PUT', NEW_SECTION, section({ courseCode: '48010' }), 'atc'),
    status: 400,
    path: 'courseCode',
  },
  {
    name: 'term Q1 for a section',
    req: () => json('PUT', NEW_SECTION, section({ term: 'Q1' }), 'atc'),
    status: 400,
    path: 'term',
  },
  {
    name: 'credits 11',
    req: () => json('PUT', NEW_SECTION, section({ credits: 11 }), 'atc'),
    status: 400,
    path: 'credits',
  },

  // Authentication
  { name: 'no token', req: () => json('POST', EVENTS, att(), 'none'), status: 401 },
  {
    name: 'an unknown token',
    req: () => ({
      ...json('POST', EVENTS, att()),
      headers: {
        authorization: 'Bearer kts_unknown-token-000000000000',
        'content-type': 'application/json',
      },
    }),
    status: 401,
  },
  {
    name: 'a 201-character token',
    req: () => ({
      ...get(`/v1/catalog/${YEAR}`),
      headers: { authorization: `Bearer ${'x'.repeat(201)}` },
    }),
    status: 401,
  },
  {
    name: 'a 100 KB token',
    req: () => ({ ...get(`/v1/catalog/${YEAR}`), headers: { authorization: `Bearer ${KB100}` } }),
    status: 401,
  },
  {
    name: 'an injection string as the token',
    req: () => ({
      ...get(`/v1/catalog/${YEAR}`),
      headers: { authorization: "Bearer ' OR '1'='1" },
    }),
    status: 401,
  },
  {
    name: 'Basic auth on the API',
    req: () => ({
      ...get(`/v1/catalog/${YEAR}`),
      headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}` },
    }),
    status: 401,
  },
  {
    name: 'the admin token without a scheme',
    req: () => ({ ...get(`/v1/catalog/${YEAR}`), headers: { authorization: ADMIN_TOKEN } }),
    status: 401,
  },
];

describe('the hand-written corpus: 4xx in the error shape, nothing stored', () => {
  it('has unique case names', () => {
    expect(new Set(CASES.map((k) => k.name)).size).toBe(CASES.length);
  });
  for (const k of CASES) {
    it(k.name, async () => {
      expect(await refused(k.req(), { status: k.status, path: k.path })).toEqual([]);
    });
  }
});

describe('every route in ROUTES refuses bad path ids, unknown fields and unknown parameters', () => {
  const sampleParam: Record<string, () => string> = {
    schoolId: () => 'ATC1',
    schoolYear: () => YEAR,
    ktsCourseNumber: () => c.sections.atcWelding,
    studentId: () => c.students.hs1[0]!,
    eventId: () => stored.eventId,
    credentialId: () => '00000000-0000-4000-8000-000000000000',
    runId: () => '00000000-0000-4000-8000-000000000000',
    waiverId: () => '00000000-0000-4000-8000-000000000000',
  };
  const fill = (path: string, bad?: string) =>
    path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
      if (name === bad) return encodeURIComponent("bad:id'; drop table events; --");
      const v = sampleParam[name];
      if (!v) throw new Error(`no sample value for :${name}`);
      return v();
    });
  const bodyOf = (method: string) => (['put', 'post'].includes(method) ? {} : undefined);

  for (const r of ROUTES) {
    for (const [, name] of r.path.matchAll(/:([A-Za-z]+)/g)) {
      it(`${r.method.toUpperCase()} ${r.path} with a bad :${name}`, async () => {
        const body = bodyOf(r.method);
        const o =
          body === undefined
            ? raw(r.method.toUpperCase(), fill(r.path, name), undefined, {}, 'admin')
            : json(r.method.toUpperCase(), fill(r.path, name), body, 'admin');
        expect(await refused(o, { status: 400, path: name })).toEqual([]);
      });
    }
    if (r.body) {
      it(`${r.method.toUpperCase()} ${r.path} with an unknown body field`, async () => {
        // Past the discriminator for events, so the unknown field is what is wrong.
        const body =
          r.path === EVENTS ? { type: 'attendance-entered', notAField: 1 } : { notAField: 1 };
        const o = json(r.method.toUpperCase(), fill(r.path), body, 'admin');
        expect(await refused(o, { status: 400, path: 'notAField' })).toEqual([]);
      });
    }
    if (r.query) {
      it(`${r.method.toUpperCase()} ${r.path} with an unknown query parameter`, async () => {
        const sep = '?';
        const o = raw(
          r.method.toUpperCase(),
          `${fill(r.path)}${sep}notAParam=1`,
          undefined,
          {},
          'admin',
        );
        expect(await refused(o, { status: 400, path: 'notAParam' })).toEqual([]);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Generated corpus (fast-check)
// ---------------------------------------------------------------------------------------------

const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'];
const safeKey = fc
  .string({ minLength: 1, maxLength: 12 })
  .filter((k) => !FORBIDDEN_KEYS.includes(k) && !leaky(k));
const anyJson = fc.jsonValue({ maxDepth: 3 });
const nonString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(safeKey, fc.integer(), { maxKeys: 2 }),
);
const badString = (re: RegExp, ...more: fc.Arbitrary<unknown>[]) =>
  fc.oneof(
    fc.string({ maxLength: 30, unit: 'binary' }).filter((s) => !re.test(s)),
    nonString,
    ...more,
  );

const RUNS = { numRuns: 150 };

describe('generated bodies: arbitrary JSON is refused with the error shape and stores nothing', () => {
  const bodies = fc.oneof(
    anyJson,
    fc.object({ key: safeKey, maxDepth: 2 }),
    // Past the discriminator: a real type with arbitrary other fields.
    fc
      .tuple(fc.constantFrom(...EVENT_TYPES), fc.dictionary(safeKey, anyJson, { maxKeys: 6 }))
      .map(([type, rest]) => ({ ...rest, type })),
  );

  it('POST /v1/events', async () => {
    await fc.assert(
      fc.asyncProperty(bodies, fc.constantFrom<Who>('atc', 'hs1', 'admin'), async (body, who) => {
        expect(await refused(json('POST', EVENTS, JSON.stringify(body), who))).toEqual([]);
      }),
      RUNS,
    );
  });

  const puts: [string, Who, () => string][] = [
    ['PUT /v1/schools/:schoolId', 'admin', () => NEW_SCHOOL],
    ['PUT /v1/students/:studentId', 'hs1', () => NEW_STUDENT],
    ['PUT /v1/tech-centers/:schoolId/sections/...', 'atc', () => NEW_SECTION],
    ['PUT /v1/schools/:schoolId/calendars/:schoolYear', 'hs1', () => NEW_CALENDAR],
  ];
  for (const [name, who, url] of puts) {
    it(name, async () => {
      await fc.assert(
        fc.asyncProperty(bodies, async (body) => {
          expect(await refused(json('PUT', url(), JSON.stringify(body), who))).toEqual([]);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('arbitrary path ids and query values', async () => {
    const text = fc.string({ maxLength: 24, unit: 'binary' }).filter((s) => {
      try {
        return encodeURIComponent(s).length <= 100;
      } catch {
        return false; // a lone surrogate cannot be put in a URL
      }
    });
    const requests = fc.oneof(
      text
        .filter((s) => !/^[0-9]{10}$/.test(s) && s !== '' && s !== '.' && s !== '..')
        .map((s) => get(`/v1/students/${encodeURIComponent(s)}`, 'hs1')),
      text
        .filter((s) => !/^[A-Za-z0-9._-]{1,100}$/.test(s) && s !== '.' && s !== '..' && s !== '')
        .map((s) => get(`/v1/events/${encodeURIComponent(s)}`, 'atc')),
      text
        .filter((s) => !/^\d{4}-\d{2}-\d{2}$/.test(s))
        .map((s) => get(`/v1/high-schools/HS1/attendance?date=${encodeURIComponent(s)}`, 'hs1')),
      fc
        .dictionary(
          text.filter((k) => k !== '' && !['techSchoolId', 'limit', 'cursor'].includes(k)),
          text,
          { minKeys: 1, maxKeys: 4 },
        )
        .map((q) => get(`/v1/catalog/${YEAR}?${new URLSearchParams(q).toString()}`, 'atc')),
    );
    await fc.assert(
      fc.asyncProperty(requests, async (o) => {
        expect(await refused(o)).toEqual([]);
      }),
      RUNS,
    );
  });
});

describe('generated near-valid attendance events: one mutated field is named in details[].path', () => {
  const EVENT_ID_RE = /^[A-Za-z0-9._-]{1,100}$/;
  const KTS_RE = /^[A-Za-z0-9-]{1,40}$/;
  const SSID_RE = /^[0-9]{10}$/;
  const CODE_RE = /^[A-Za-z0-9_-]{1,16}$/;
  const SCHOOL_RE = /^[A-Za-z0-9-]{1,32}$/;
  const STATUSES = ['present', 'absent', 'tardy', 'early_release'];
  const EXCUSES = ['unknown', 'excused', 'unexcused', 'exempt'];
  const TOP_KEYS = [
    'type',
    'eventId',
    'occurredAt',
    'schoolId',
    'ktsCourseNumber',
    'date',
    'records',
  ];
  const REC_KEYS = ['studentId', 'status', 'excuse', 'code', 'minutesAbsent'];
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');

  type Rec = Record<string, unknown>;
  type Ev = Record<string, unknown> & { records: Rec[] };

  const dateIn = fc
    .integer({ min: Date.UTC(2026, 7, 1), max: Date.UTC(2027, 5, 30) })
    .map((ms) => new Date(ms));
  const code = fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/);
  const minutes = fc.integer({ min: 0, max: 1440 });
  const studentId = fc.stringMatching(/^[0-9]{10}$/);
  const record: fc.Arbitrary<Rec> = fc.oneof(
    fc.record(
      { studentId, status: fc.constant('present'), code, minutesAbsent: minutes },
      { requiredKeys: ['studentId', 'status'] },
    ),
    fc.record(
      {
        studentId,
        status: fc.constantFrom('absent', 'tardy', 'early_release'),
        excuse: fc.constantFrom(...EXCUSES),
        code,
        minutesAbsent: minutes,
      },
      { requiredKeys: ['studentId', 'status', 'excuse'] },
    ),
  );
  const OFFSETS: [string, number][] = [
    ['Z', 0],
    ['+00:00', 0],
    ['-05:00', -300],
    ['-04:00', -240],
    ['+05:30', 330],
  ];
  const base = (kts: string[]): fc.Arbitrary<Ev> =>
    fc.record({
      type: fc.constant('attendance-entered'),
      eventId: fc.stringMatching(/^[A-Za-z0-9._-]{1,100}$/),
      occurredAt: fc
        .tuple(dateIn, fc.constantFrom(...OFFSETS))
        .map(
          ([d, [off, mins]]) =>
            new Date(d.getTime() + mins * 60_000).toISOString().slice(0, 19) + off,
        ),
      ktsCourseNumber: fc.constantFrom(...kts),
      date: dateIn.map((d) => d.toISOString().slice(0, 10)),
      records: fc.uniqueArray(record, {
        minLength: 1,
        maxLength: 4,
        selector: (r) => r.studentId,
      }),
    });

  const bad: Record<string, fc.Arbitrary<unknown>> = {
    type: fc.oneof(
      fc.string({ maxLength: 20 }).filter((s) => !(EVENT_TYPES as readonly string[]).includes(s)),
      nonString,
      fc.constantFrom('Attendance-Entered', 'attendance_entered', ' attendance-entered'),
    ),
    eventId: badString(
      EVENT_ID_RE,
      fc.stringMatching(/^[A-Za-z0-9._-]{101,130}$/),
      fc
        .tuple(
          fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/),
          fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/),
        )
        .map(([a, b]) => `${a}:${b}`),
      fc.constantFrom(...INJECTIONS),
    ),
    occurredAt: fc.oneof(
      fc.constantFrom(
        '2027-01-19T09:10:00',
        '2027-01-19',
        '2027-01-19 09:10:00-05:00',
        '2027-01-19T09:10:00+25:00',
        '2027-02-30T09:10:00Z',
        '2027-13-19T09:10:00Z',
        '19/01/2027 09:10',
        '',
      ),
      dateIn.map((d) => d.toISOString().slice(0, 19)),
      fc.string({ maxLength: 30 }).filter((s) => !/^\d{4}-\d{2}-\d{2}T/.test(s)),
      fc.string({ minLength: 41, maxLength: 60 }),
      nonString,
    ),
    ktsCourseNumber: badString(KTS_RE, fc.stringMatching(/^[A-Za-z0-9-]{41,60}$/)),
    date: fc.oneof(
      fc.constantFrom(
        '2027-02-30',
        '2027-13-01',
        '27-01-01',
        '2027-1-1',
        '2027-00-10',
        '2027-02-29',
        '20270119',
        '',
      ),
      fc
        .tuple(
          fc.integer({ min: 1000, max: 9999 }),
          fc.integer({ min: 13, max: 99 }),
          fc.integer({ min: 1, max: 28 }),
        )
        .map(([y, m, d]) => `${y}-${pad(m)}-${pad(d)}`),
      fc
        .tuple(
          fc.integer({ min: 1000, max: 9999 }),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 32, max: 99 }),
        )
        .map(([y, m, d]) => `${y}-${pad(m)}-${pad(d)}`),
      dateIn.map((d) => d.toISOString()),
      fc.string({ maxLength: 20 }).filter((s) => !/^\d{4}-\d{2}-\d{2}$/.test(s)),
      nonString,
    ),
    schoolId: badString(SCHOOL_RE, fc.stringMatching(/^[A-Za-z0-9-]{33,50}$/)),
    studentId: badString(
      SSID_RE,
      fc.integer({ min: 1_000_000_000, max: 2_000_000_000 }),
      fc.stringMatching(/^[0-9]{9}$/),
      fc.stringMatching(/^[0-9]{11,12}$/),
      fc.constantFrom('１０００００００００１', '١٠٠٠٠٠٠٠٠١', '10000000O1'),
    ),
    status: fc.oneof(
      fc.string({ maxLength: 20 }).filter((s) => !STATUSES.includes(s)),
      nonString,
      fc.constantFrom('Present', 'ABSENT', 'tardy ', 'early-release'),
    ),
    excuse: fc.oneof(
      fc.string({ maxLength: 20 }).filter((s) => !EXCUSES.includes(s)),
      nonString,
      fc.constantFrom('Excused', 'unknown '),
    ),
    code: badString(CODE_RE, fc.stringMatching(/^[A-Za-z0-9_-]{17,30}$/)),
    minutesAbsent: fc.oneof(
      fc.integer({ min: 1441 }),
      fc.integer({ max: -1 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
      fc.string({ maxLength: 8 }),
      fc.boolean(),
      fc.constant(null),
      fc.constant([]),
    ),
    records: fc.oneof(
      fc.string({ maxLength: 10 }),
      fc.integer(),
      fc.constant(null),
      fc.boolean(),
      fc.dictionary(safeKey, fc.integer(), { maxKeys: 2 }),
      fc.constant([]),
      fc.constant('501 records'),
    ),
  };

  type Mutation =
    | { kind: 'set'; field: string; value: unknown }
    | { kind: 'delete'; field: string }
    | { kind: 'extra'; key: string; value: unknown }
    | { kind: 'setRec'; i: number; field: string; value: unknown }
    | { kind: 'deleteRec'; i: number; field: 'studentId' | 'status' | 'excuse' }
    | { kind: 'extraRec'; i: number; key: string; value: unknown }
    | { kind: 'replaceRec'; i: number; value: unknown }
    | { kind: 'duplicate'; i: number; j: number };

  const field = (names: string[]) =>
    fc.constantFrom(...names).chain((f) => bad[f]!.map((value) => ({ f, value })));
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    field(['type', 'eventId', 'occurredAt', 'ktsCourseNumber', 'date', 'records', 'schoolId']).map(
      ({ f, value }): Mutation => ({ kind: 'set', field: f, value }),
    ),
    fc
      .constantFrom('type', 'eventId', 'occurredAt', 'ktsCourseNumber', 'date', 'records')
      .map((f): Mutation => ({ kind: 'delete', field: f })),
    fc
      .tuple(
        safeKey.filter((k) => !TOP_KEYS.includes(k)),
        anyJson,
      )
      .map(([key, value]): Mutation => ({ kind: 'extra', key, value })),
    fc
      .tuple(fc.nat(), field(REC_KEYS))
      .map(([i, { f, value }]): Mutation => ({ kind: 'setRec', i, field: f, value })),
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom('studentId', 'status', 'excuse') as fc.Arbitrary<
          'studentId' | 'status' | 'excuse'
        >,
      )
      .map(([i, f]): Mutation => ({ kind: 'deleteRec', i, field: f })),
    fc
      .tuple(
        fc.nat(),
        safeKey.filter((k) => !REC_KEYS.includes(k)),
        anyJson,
      )
      .map(([i, key, value]): Mutation => ({ kind: 'extraRec', i, key, value })),
    fc
      .tuple(
        fc.nat(),
        fc.oneof(
          fc.string({ maxLength: 10 }),
          fc.integer(),
          fc.constant(null),
          fc.array(fc.integer(), { maxLength: 2 }),
        ),
      )
      .map(([i, value]): Mutation => ({ kind: 'replaceRec', i, value })),
    fc.tuple(fc.nat(), fc.nat()).map(([i, j]): Mutation => ({ kind: 'duplicate', i, j })),
  );

  /** Apply the mutation to a copy; the path the answer must name. */
  function mutate(e: Ev, m: Mutation): { body: Ev; path: string } {
    const body: Ev = { ...e, records: e.records.map((r) => ({ ...r })) };
    const n = body.records.length;
    switch (m.kind) {
      case 'set':
        body[m.field] =
          m.value === '501 records'
            ? Array.from({ length: 501 }, (_, k) => ({
                studentId: String(3_000_000_000 + k),
                status: 'present',
              }))
            : m.value;
        return { body, path: m.field };
      case 'delete':
        delete body[m.field];
        return { body, path: m.field };
      case 'extra':
        body[m.key] = m.value;
        return { body, path: m.key };
      case 'setRec':
        body.records[m.i % n]![m.field] = m.value;
        return { body, path: `records.${m.i % n}.${m.field}` };
      case 'deleteRec': {
        const r = body.records[m.i % n]!;
        // Deleting the excuse of a present record is no mistake; delete its status instead.
        const f = m.field === 'excuse' && r.status === 'present' ? 'status' : m.field;
        delete r[f];
        return { body, path: `records.${m.i % n}.${f}` };
      }
      case 'extraRec':
        body.records[m.i % n]![m.key] = m.value;
        return { body, path: `records.${m.i % n}.${m.key}` };
      case 'replaceRec':
        body.records[m.i % n] = m.value as Rec;
        return { body, path: `records.${m.i % n}` };
      case 'duplicate': {
        if (n < 2) {
          body.records.push({ ...body.records[0]! });
          return { body, path: 'records.1' };
        }
        const [i, j] = [m.i % n, m.j % n === m.i % n ? (m.i + 1) % n : m.j % n].sort(
          (a, b) => a - b,
        ) as [number, number];
        body.records[j]!.studentId = body.records[i]!.studentId;
        return { body, path: `records.${j}` };
      }
    }
  }

  it('POST /v1/events answers 400 naming the mutated field', async () => {
    const kts = [c.sections.atcWelding, c.sections.atcNursing];
    await fc.assert(
      fc.asyncProperty(base(kts), mutation, async (e, m) => {
        // The unmutated event is valid, so the mutation is the only thing wrong.
        expect(AttendanceEntered.safeParse(e).success, JSON.stringify(e)).toBe(true);
        const { body, path } = mutate(e, m);
        expect(
          await refused(json('POST', EVENTS, JSON.stringify(body), 'atc'), { status: 400, path }),
        ).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Text that only looks like an attack is data, stored verbatim
// ---------------------------------------------------------------------------------------------

describe('injection strings in free-text fields', () => {
  it('are stored verbatim as text and executed nowhere', async () => {
    const name = INJECTIONS.join(' | ');
    const r = await t.api('PUT', '/v1/schools/INJ-1', { body: school({ name }) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.name).toBe(name);
    const row = await t.db
      .selectFrom('schools')
      .select('name')
      .where('id', '=', 'INJ-1')
      .executeTakeFirstOrThrow();
    expect(row.name).toBe(name);
    // The events table is still there and still holds the stored event.
    const n = await t.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBeGreaterThanOrEqual(1);
  });
});

describe('after the whole corpus', () => {
  it('the process is up and still takes a valid event', async () => {
    console.log(`bad-input corpus: ${corpusSize} bad requests sent`);
    expect(corpusSize).toBeGreaterThan(1000);
    const health = await t.api('GET', '/healthz', { token: null });
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const e = att({}, { studentId: c.students.hs1[1] });
    const r = await t.api('POST', '/v1/events', { token: c.tokens.atc, body: e });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body).toEqual({ eventId: e.eventId, status: 'pending' });
  });
});

/**
 * `npm run demo [-- --once]`: a sample county driven through the real HTTP API.
 *
 * It starts the whole exchange in this process (api, workers, scheduler), seeds two high schools,
 * an ATC and a CTC with calendars, sections, students and schedules, sends one school day of
 * attendance from the centers (plus a few deliberately bad records), waits for the workers, and
 * prints each high school's real-time report and each center's rejections. Then S1 grades from
 * the centers and HS1 (with one correction), one student's report card, transcript and athletic
 * eligibility before and after HS1 relaxes its rule, a CTC's waiver for next year (and an ATC's
 * refused one), the night's sync with HS1's unknowns worklist and two codings, and that student's
 * history of changes and disclosures. Without `--once` it then keeps serving so the dashboard and
 * API can be explored.
 *
 * Everything goes over HTTP with bearer tokens, exactly as a SIS integration would: the demo is
 * also a smoke test of the contract in /work/shared/api.md, so it must not reach into the database.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig, type Config } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { startExchange, type Exchange } from './exchange.ts';
import { RejectionList, TranscriptResponse } from '../producers/http/responses.ts';

// ------------------------------------------------------------------------------------ settings

/**
 * Defaults applied to the environment before loadConfig, so the demo runs with no set-up beyond
 * `npm run services`. The fixed admin token is fine here: the demo database is throw-away.
 */
const DEMO_ENV: Record<string, string> = {
  KTS_ADMIN_TOKEN: 'demo-state-office-token-0123456789',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/kts_demo',
  REDIS_URL: 'redis://127.0.0.1:6379',
  KTS_QUEUE_PREFIX: 'kts-demo',
  PORT: '3000',
  // Local only: a demo with a well-known admin token must not listen on every interface.
  HOST: '127.0.0.1',
  // A Wednesday: "yesterday" (Jan 19) is a school day and Monday Jan 18 is MLK day, a day off.
  KTS_NOW: '2027-01-20T14:30:00-05:00',
  // Quiet logs so the printed report stays readable.
  LOG_LEVEL: 'warn',
  KTS_ROLES: 'api,workers,scheduler',
};

const YEAR = '2026-2027';
const DAY = '2027-01-19';
const HOLIDAY = '2027-01-18';
const FUTURE = '2027-01-21';
const SEMESTER_START = '2027-01-04';
const STUDENTS_PER_HS = 100;
const REPORT_ROWS = 15;

const AM = [1, 2, 3];
const PM = [5, 6, 7];

interface SchoolSeed {
  id: string;
  name: string;
  kind: 'high_school' | 'atc' | 'ctc';
  attendanceSync?: boolean;
}

const SCHOOLS: SchoolSeed[] = [
  { id: 'HS1', name: 'Bourbon County High', kind: 'high_school', attendanceSync: true },
  { id: 'HS2', name: 'Harrison County High', kind: 'high_school' },
  { id: 'ATC1', name: 'Bourbon County Area Technology Center', kind: 'atc' },
  { id: 'CTC1', name: 'Paris Career and Technical Center', kind: 'ctc' },
];
const HIGH_SCHOOLS = SCHOOLS.filter((s) => s.kind === 'high_school');
const CENTERS = SCHOOLS.filter((s) => s.kind !== 'high_school');

interface SectionSeed {
  center: string;
  kts: string;
  courseCode: string;
  title: string;
  credits: number;
  term: 'year' | 'S1' | 'S2';
  hsPeriods: number[];
}

/** Morning and afternoon blocks: a student leaves the high school for three periods. */
const section = (
  center: string,
  kts: string,
  courseCode: string,
  title: string,
  credits: number,
  term: SectionSeed['term'],
  hsPeriods: number[],
): SectionSeed => ({ center, kts, courseCode, title, credits, term, hsPeriods });

const SECTIONS: SectionSeed[] = [
  section('ATC1', 'ATC1-WLD-101-AM', '480101', 'Welding I', 1, 'year', AM),
  section('ATC1', 'ATC1-WLD-101-PM', '480101', 'Welding I', 1, 'year', PM),
  section('ATC1', 'ATC1-NUR-201-AM', '170101', 'Nurse Aide', 1, 'S2', AM),
  section('ATC1', 'ATC1-ELE-110-PM', '460302', 'Electrical Wiring I', 1, 'year', PM),
  section('CTC1', 'CTC1-AUT-301-AM', '470604', 'Auto Technology', 2, 'year', AM),
  section('CTC1', 'CTC1-CAR-150-PM', '460201', 'Carpentry I', 1, 'S2', PM),
];

/** Thanksgiving, winter break (weekdays) and MLK day; weekends are never instructional anyway. */
const NON_INSTRUCTIONAL_DAYS = [
  '2026-11-26',
  '2026-11-27',
  ...weekdaysBetween('2026-12-21', '2027-01-01'),
  HOLIDAY,
];

// Small lists: the names only need to look real on a center's roster, never in this output.
const FIRST_NAMES = 'Ava Caleb Emma Isaiah Harper Landon Mia Owen Lily Wyatt Zoe Eli'.split(' ');
const LAST_NAMES = 'Adams Bishop Collins Dunn Estes Fields Gibson Hays Irvin Jett Kidd'.split(' ');

// -------------------------------------------------------------------------------------- helpers

function weekdaysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = new Date(`${from}T12:00:00Z`); d <= new Date(`${to}T12:00:00Z`);) {
    const dow = d.getUTCDay();
    if (dow !== 0 && dow !== 6) days.push(d.toISOString().slice(0, 10));
    d = new Date(d.getTime() + 86_400_000);
  }
  return days;
}

/** Runs `fn` over `items` with at most `limit` in flight: fast, without flooding the pool. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>) {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class DemoError extends Error {
  override name = 'DemoError';
}

const SERVICES_HINT = 'Start Postgres and Redis with `npm run services`, then run the demo again.';

// ----------------------------------------------------------------------- clean slate and start

/** Applies the demo defaults for anything the caller left unset (empty counts as unset). */
function demoConfig(): Config {
  for (const [k, v] of Object.entries(DEMO_ENV)) if (!process.env[k]) process.env[k] = v;
  // The demo wipes what it uses, so it never uses the exchange's own database or queue keys: on
  // the server DATABASE_URL names it takes a database of its own (kts_demo), and its own prefix.
  const db = new URL(process.env.DATABASE_URL!);
  if (!/demo/i.test(decodeURIComponent(db.pathname.slice(1)))) {
    db.pathname = '/kts_demo';
    process.env.DATABASE_URL = db.toString();
  }
  if (!/demo/i.test(process.env.KTS_QUEUE_PREFIX!)) process.env.KTS_QUEUE_PREFIX = 'kts-demo';
  return loadConfig();
}

/** Belt and braces: whatever demoConfig chose must be named like a demo before anything is wiped. */
function assertDemoOwned(config: Config): string {
  const dbName = decodeURIComponent(new URL(config.DATABASE_URL).pathname.slice(1));
  if (!/demo/i.test(dbName) || !/demo/i.test(config.KTS_QUEUE_PREFIX)) {
    throw new DemoError(
      `refusing to wipe database "${dbName}" / prefix "${config.KTS_QUEUE_PREFIX}": not the demo's own`,
    );
  }
  return dbName;
}

/** DROP ... WITH (FORCE) then CREATE, through the server's maintenance database `postgres`. */
async function resetDatabase(databaseUrl: string, dbName: string) {
  const maint = new URL(databaseUrl);
  maint.pathname = '/postgres';
  const client = new pg.Client({
    connectionString: maint.toString(),
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
  } catch (err) {
    throw new DemoError(
      `cannot reach PostgreSQL at ${maint.host} (${errText(err)}). ${SERVICES_HINT}`,
    );
  }
  try {
    const ident = `"${dbName.replaceAll('"', '""')}"`;
    await client.query(`DROP DATABASE IF EXISTS ${ident} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${ident}`);
  } finally {
    await client.end();
  }
}

/** SCAN+DEL of this demo's own prefix only: the Redis server may be shared, so never FLUSHALL. */
async function resetRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // ioredis rejects connect() with a bare "Connection is closed"; the cause comes as an event.
  let cause: unknown = null;
  redis.on('error', (err) => (cause ??= err));
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new DemoError(
      `cannot reach Redis at ${redisUrl} (${errText(cause ?? err)}). ${SERVICES_HINT}`,
    );
  }
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = nextCursor;
    } while (cursor !== '0');
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  return deleted;
}

/** The configured port if it is free, else 0 (the OS picks one) so a busy 3000 is no failure. */
async function choosePort(host: string, port: number): Promise<number> {
  if (port === 0) return 0;
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(0));
    probe.listen({ port, host }, () => probe.close(() => resolve(port)));
  });
}

function errText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errText(err.errors[0]);
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

// ------------------------------------------------------------------------------- HTTP client

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** A thin fetch wrapper: every call names its token, as every SIS hook would. */
function apiClient(base: string) {
  async function call(method: string, path: string, token: string, body?: unknown): Promise<Reply> {
    const res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }
  /** Like `call`, but anything other than the expected status stops the demo with the error. */
  async function expect(
    status: number,
    method: string,
    path: string,
    token: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    const r = await call(method, path, token, body);
    if (r.status !== status)
      throw new DemoError(
        `${method} ${path} answered ${r.status} (expected ${status}): ${JSON.stringify(r.body)}`,
      );
    return r.body;
  }
  return { call, expect };
}
type Api = ReturnType<typeof apiClient>;

// ------------------------------------------------------------------------------------- seeding

interface Student {
  id: string;
  home: string;
  section: SectionSeed;
}

type DemoEvent = { eventId: string; type: string } & Record<string, unknown>;

interface Sent {
  schoolId: string;
  eventId: string;
  type: string;
  /** Set once a worker settled the event (see waitForAll). */
  outcome?: Outcome;
  rejections?: EventRejection[];
}

interface EventRejection {
  recordIndex: number;
  studentId: string | null;
  code: string;
  message: string;
}

/** What the demo posted, so it can wait for each event and count the outcomes. */
class EventLog {
  readonly sent: Sent[] = [];
  constructor(
    private readonly api: Api,
    private readonly tokens: Record<string, string>,
  ) {}

  async post(schoolId: string, event: DemoEvent): Promise<Reply> {
    const r = await this.api.call('POST', '/v1/events', this.tokens[schoolId]!, event);
    if (r.status === 202) this.sent.push({ schoolId, eventId: event.eventId, type: event.type });
    return r;
  }

  async postOk(schoolId: string, event: DemoEvent) {
    const r = await this.post(schoolId, event);
    if (r.status !== 202)
      throw new DemoError(`event ${event.eventId} answered ${r.status}: ${JSON.stringify(r.body)}`);
  }
}

/** Deterministic 10-digit SSIDs: 21xxxxxxxx for HS1, 22xxxxxxxx for HS2. */
const ssid = (hsIndex: number, n: number) => String(2_100_000_000 + hsIndex * 100_000_000 + n);

function makeStudents(): Student[] {
  return HIGH_SCHOOLS.flatMap((hs, h) =>
    Array.from({ length: STUDENTS_PER_HS }, (_, i) => ({
      id: ssid(h, i + 1),
      home: hs.id,
      // Offset by school so both high schools send students to every section.
      section: SECTIONS[(i + h) % SECTIONS.length]!,
    })),
  );
}

async function seedSchools(api: Api, admin: string): Promise<Record<string, string>> {
  for (const { id, ...body } of SCHOOLS) {
    await api.expect(200, 'PUT', `/v1/schools/${id}`, admin, {
      ...body,
      districtId: 'D-017',
      timezone: 'America/New_York',
    });
  }
  // One credential per school: from here on each school acts with its own token.
  const tokens: Record<string, string> = {};
  for (const s of SCHOOLS) {
    const c = await api.expect(201, 'POST', '/v1/credentials', admin, {
      schoolId: s.id,
      label: 'demo SIS hook',
    });
    tokens[s.id] = String(c.token);
  }
  for (const s of SCHOOLS) {
    await api.expect(200, 'PUT', `/v1/schools/${s.id}/calendars/${YEAR}`, tokens[s.id]!, {
      firstDay: '2026-08-12',
      lastDay: '2027-05-28',
      nonInstructionalDays: NON_INSTRUCTIONAL_DAYS,
      periods: [1, 2, 3, 4, 5, 6, 7].map((p) => ({
        period: p,
        start: `${String(7 + p).padStart(2, '0')}:00`,
        end: `${String(7 + p).padStart(2, '0')}:50`,
      })),
    });
  }
  for (const { center, kts, hsPeriods: _hsPeriods, ...body } of SECTIONS) {
    await api.expect(
      200,
      'PUT',
      `/v1/tech-centers/${center}/sections/${YEAR}/${kts}`,
      tokens[center]!,
      body,
    );
  }
  return tokens;
}

async function seedStudents(api: Api, tokens: Record<string, string>, students: Student[]) {
  await mapLimit(students, 16, (s) => {
    const n = Number(s.id.slice(-3));
    return api.expect(200, 'PUT', `/v1/students/${s.id}`, tokens[s.home]!, {
      homeSchoolId: s.home,
      firstName: FIRST_NAMES[n % FIRST_NAMES.length],
      lastName: LAST_NAMES[(n * 7) % LAST_NAMES.length],
      gradeLevel: 10 + (n % 3),
    });
  });
}

/** Each high school schedules its students from the start of the spring semester. */
async function scheduleStudents(events: EventLog, students: Student[]) {
  await mapLimit(students, 16, (s) =>
    events.postOk(s.home, {
      type: 'enrollment-changed',
      eventId: `enr-${s.id}-add`,
      occurredAt: '2027-01-04T07:45:00-05:00',
      schoolYear: YEAR,
      studentId: s.id,
      ktsCourseNumber: s.section.kts,
      action: 'add',
      effectiveDate: SEMESTER_START,
      hsPeriods: s.section.hsPeriods,
    }),
  );
}

/** Two students leave their tech course on Friday Jan 15: off the roster from that day. */
async function dropSome(events: EventLog, students: Student[]): Promise<Student[]> {
  const dropped = [students[6]!, students[STUDENTS_PER_HS + 9]!];
  for (const s of dropped) {
    await events.postOk(s.home, {
      type: 'enrollment-changed',
      eventId: `enr-${s.id}-drop`,
      occurredAt: '2027-01-14T15:10:00-05:00',
      schoolYear: YEAR,
      studentId: s.id,
      ktsCourseNumber: s.section.kts,
      action: 'drop',
      effectiveDate: '2027-01-15',
      hsPeriods: [],
    });
  }
  return dropped;
}

// ---------------------------------------------------------------------------------- attendance

type AttendanceRecord = {
  studentId: string;
  status: 'present' | 'absent' | 'tardy' | 'early_release';
  excuse?: 'unknown' | 'excused';
  code?: string;
  minutesAbsent?: number;
};

/** A plausible day: mostly present, some absent or tardy not yet coded, a few excused. */
function recordFor(studentId: string): AttendanceRecord {
  const n = Number(studentId.slice(-3));
  if (n % 11 === 3) return { studentId, status: 'absent', excuse: 'unknown' };
  if (n % 13 === 5) return { studentId, status: 'tardy', excuse: 'unknown', minutesAbsent: 12 };
  if (n % 17 === 8) return { studentId, status: 'absent', excuse: 'excused', code: 'MED' };
  if (n % 23 === 2) return { studentId, status: 'early_release', excuse: 'excused', code: 'PAR' };
  return { studentId, status: 'present' };
}

function attendanceEvent(kts: string, date: string, records: AttendanceRecord[], eventId?: string) {
  return {
    type: 'attendance-entered',
    eventId: eventId ?? `att-${kts}-${date}`,
    occurredAt: `${date}T09:10:00-05:00`,
    ktsCourseNumber: kts,
    date,
    records,
  };
}

async function rosterOn(api: Api, token: string, sec: SectionSeed, date: string) {
  const body = await api.expect(
    200,
    'GET',
    `/v1/tech-centers/${sec.center}/rosters/${YEAR}/${sec.kts}?asOf=${date}`,
    token,
  );
  // Names come back too (the teacher needs them); the demo keeps only the ids.
  return (body.students as { studentId: string }[]).map((s) => s.studentId).sort();
}

/**
 * One event per section for the day, from the section's center. The first section also carries
 * two bad records: a student dropped last week (a span exists, outside it) and one never scheduled.
 */
async function sendSchoolDay(
  api: Api,
  events: EventLog,
  tokens: Record<string, string>,
  dropped: Student[],
  students: Student[],
) {
  for (const [i, sec] of SECTIONS.entries()) {
    const ids = await rosterOn(api, tokens[sec.center]!, sec, DAY);
    const records = ids.map(recordFor);
    if (i === 0) {
      const droppedHere = dropped.find((s) => s.section.kts === sec.kts);
      const stranger = students.find((s) => s.section.center !== sec.center)!;
      if (droppedHere) records.push({ studentId: droppedHere.id, status: 'present' });
      records.push({ studentId: stranger.id, status: 'present' });
    }
    await events.postOk(sec.center, attendanceEvent(sec.kts, DAY, records));
  }
}

/** Whole events the workers must reject: wrong days and a section nobody published. */
async function sendBadEvents(api: Api, events: EventLog, tokens: Record<string, string>) {
  const sec = SECTIONS[4]!; // a CTC section, so both centers have rejections to show
  const ids = (await rosterOn(api, tokens[sec.center]!, sec, DAY)).slice(0, 2);
  const present = ids.map((studentId) => ({ studentId, status: 'present' as const }));
  await events.postOk(sec.center, attendanceEvent(sec.kts, FUTURE, present));
  await events.postOk(sec.center, attendanceEvent(sec.kts, HOLIDAY, present));
  await events.postOk('ATC1', attendanceEvent('ATC1-XYZ-999', DAY, present));
}

/** Same eventId and body again is 200 with the stored event; a different body is 409. */
async function showIdempotency(api: Api, events: EventLog, tokens: Record<string, string>) {
  const sec = SECTIONS[1]!;
  const ids = await rosterOn(api, tokens[sec.center]!, sec, DAY);
  const original = attendanceEvent(sec.kts, DAY, ids.map(recordFor));
  const again = await events.post(sec.center, original);
  const changed = attendanceEvent(
    sec.kts,
    DAY,
    ids.map((studentId) => ({ studentId, status: 'absent', excuse: 'unknown' })),
  );
  const conflict = await events.post(sec.center, changed);
  return { eventId: original.eventId, again, conflict };
}

// ------------------------------------------------------------------------------------ waiting

type Outcome = 'applied' | 'partially_applied' | 'rejected';

/**
 * Polls every event not yet settled until a worker has settled it; a stuck queue is a failure, not
 * a hang. Returns the outcomes of everything sent so far.
 */
async function waitForAll(
  api: Api,
  events: EventLog,
  tokens: Record<string, string>,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  await mapLimit(
    events.sent.filter((e) => !e.outcome),
    16,
    async (e) => {
      for (;;) {
        const r = await api.expect(200, 'GET', `/v1/events/${e.eventId}`, tokens[e.schoolId]!);
        if (r.status !== 'pending') {
          e.outcome = r.status as Outcome;
          e.rejections = r.rejections as EventRejection[];
          return;
        }
        if (Date.now() > deadline)
          throw new DemoError(
            `event ${e.eventId} from ${e.schoolId} still pending after ${timeoutMs} ms; are the workers running?`,
          );
        await sleep(100);
      }
    },
  );
  const outcomes: Record<Outcome, number> = { applied: 0, partially_applied: 0, rejected: 0 };
  for (const e of events.sent) if (e.outcome) outcomes[e.outcome] += 1;
  return outcomes;
}

/**
 * For the steps after the attendance day, where every record is meant to apply: waits, then stops
 * the demo with the rejections if any event sent since `from` did not apply in full.
 */
async function waitApplied(
  api: Api,
  events: EventLog,
  tokens: Record<string, string>,
  from: number,
) {
  await waitForAll(api, events, tokens);
  const bad = events.sent.slice(from).filter((e) => e.outcome !== 'applied');
  if (bad.length > 0)
    throw new DemoError(
      `expected every event to apply, but: ${bad
        .map(
          (e) =>
            `${e.eventId} ${e.outcome}: ${(e.rejections ?? []).map((r) => `#${r.recordIndex} ${r.code}`).join(', ')}`,
        )
        .join('; ')}`,
    );
}

// ----------------------------------------------------------------------------------- printing

interface ReportRow {
  studentId: string;
  techSchoolId: string;
  ktsCourseNumber: string;
  hsPeriods: number[];
  status: string;
  excuse: string | null;
  code: string | null;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    '  ' +
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function countBy<T>(items: T[], key: (t: T) => string): string {
  const counts = new Map<string, number>();
  for (const it of items) counts.set(key(it), (counts.get(key(it)) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

async function printReports(api: Api, tokens: Record<string, string>) {
  for (const hs of HIGH_SCHOOLS) {
    const body = await api.expect(
      200,
      'GET',
      `/v1/high-schools/${hs.id}/attendance?date=${DAY}`,
      tokens[hs.id]!,
    );
    const rows = body.rows as ReportRow[];
    const sync = hs.attendanceSync ? 'nightly sync on' : 'nightly sync off';
    console.log(`\n== ${hs.id} ${hs.name} (${sync}): tech-center attendance for ${DAY}`);
    console.log(
      table(
        ['student', 'center', 'section', 'periods', 'status', 'excuse', 'code'],
        rows
          .slice(0, REPORT_ROWS)
          .map((r) => [
            r.studentId,
            r.techSchoolId,
            r.ktsCourseNumber,
            r.hsPeriods.join(','),
            r.status,
            r.excuse ?? '-',
            r.code ?? '-',
          ]),
      ),
    );
    if (rows.length > REPORT_ROWS) console.log(`  ... ${rows.length - REPORT_ROWS} more rows`);
    console.log(`  ${rows.length} rows: ${countBy(rows, (r) => r.status)}`);
    console.log(`  by center: ${countBy(rows, (r) => r.techSchoolId)}`);
  }
}

async function printRejections(api: Api, tokens: Record<string, string>): Promise<number> {
  let total = 0;
  for (const c of CENTERS) {
    const body = await api.expect(200, 'GET', `/v1/schools/${c.id}/rejections`, tokens[c.id]!);
    // Parsed with the contract's own response schema: the demo fails loudly if the shape drifts.
    const { rejections } = RejectionList.parse(body);
    total += rejections.length;
    console.log(`\n== ${c.id} ${c.name}: ${rejections.length} rejected records`);
    for (const r of rejections)
      console.log(
        `  ${r.code.padEnd(21)} ${r.eventId} #${r.recordIndex} ${r.studentId ?? '-'}: ${r.message}`,
      );
  }
  return total;
}

// ------------------------------------------------------------------------- grades and eligibility

const NEXT_YEAR = '2027-2028';
/** S1 grades are posted once the semester is over; a center's correction comes a few days later. */
const GRADES_AT = '2027-01-08T15:30:00-05:00';
const CORRECTED_AT = '2027-01-12T10:05:00-05:00';
const CODED_AT = '2027-01-20T14:10:00-05:00';

/** Two of HS1's own S1 courses (half a credit each): the high-school side of the report card. */
const HS_COURSES = [
  { courseId: 'ENG-10-S1', courseCode: '230112', title: 'English II', credits: 0.5 },
  { courseId: 'ALG-2-S1', courseCode: '270312', title: 'Algebra II', credits: 0.5 },
];

type GradeRecord = { studentId: string; letterGrade?: string; numericGrade?: number };

const LETTERS = ['A', 'B+', 'B', 'A-', 'C+', 'B-', 'C', 'A'];

/** The students the grades section is about, picked from the seed so the story is stable. */
function pickStudents(students: Student[], dropped: Student[]) {
  const active = students.filter((s) => !dropped.includes(s));
  // HS1's featured student: at the ATC in the afternoon, absent (not yet coded) on the report day.
  const featured = active.find(
    (s) =>
      s.home === 'HS1' &&
      s.section.kts === 'ATC1-WLD-101-PM' &&
      recordFor(s.id).status === 'absent' &&
      recordFor(s.id).excuse === 'unknown',
  )!;
  // The other failing grade: an HS2 student at the CTC.
  const atCtc = (s: Student) => s.section.center === 'CTC1' && s.section.term !== 'S2';
  const failingCtc = active.find((s) => s.home === 'HS2' && atCtc(s))!;
  // The CTC corrects one HS1 student's grade.
  const corrected = active.find((s) => s.home === 'HS1' && atCtc(s))!;
  return { featured, failingCtc, corrected };
}

/** ATCs post letter grades, the CTC numeric ones; two students fail. */
function techGrade(center: string, studentId: string, failing: ReadonlySet<string>): GradeRecord {
  const n = Number(studentId.slice(-3)) + (studentId.startsWith('22') ? 3 : 0);
  if (center === 'CTC1')
    return { studentId, numericGrade: failing.has(studentId) ? 55 : 70 + ((n * 7) % 29) };
  return { studentId, letterGrade: failing.has(studentId) ? 'F' : LETTERS[n % LETTERS.length]! };
}

function gradeEvent(
  eventId: string,
  occurredAt: string,
  course: { ktsCourseNumber: string } | { course: (typeof HS_COURSES)[number] },
  records: GradeRecord[],
): DemoEvent {
  return {
    type: 'grade-finalized',
    eventId,
    occurredAt,
    schoolYear: YEAR,
    term: 'S1',
    gradeType: 'semester',
    ...course,
    records,
  };
}

/**
 * Each center posts S1 semester grades for the sections that run in S1 (year-long ones: an S2
 * section has no S1 grade), for the students on its roster; HS1 posts two of its own courses; then
 * the CTC corrects one grade under a new eventId with a later occurredAt.
 */
async function sendGrades(
  api: Api,
  events: EventLog,
  tokens: Record<string, string>,
  students: Student[],
  picks: ReturnType<typeof pickStudents>,
) {
  const failing = new Set([picks.featured.id, picks.failingCtc.id]);
  let correction = {
    studentId: picks.corrected.id,
    kts: picks.corrected.section.kts,
    from: 0,
    to: 0,
  };
  for (const sec of SECTIONS.filter((s) => s.term !== 'S2')) {
    const ids = await rosterOn(api, tokens[sec.center]!, sec, DAY);
    const records = ids.map((id) => techGrade(sec.center, id, failing));
    await events.postOk(
      sec.center,
      gradeEvent(`grd-${sec.kts}-S1`, GRADES_AT, { ktsCourseNumber: sec.kts }, records),
    );
    const fix = records.find((r) => r.studentId === correction.studentId);
    if (fix) {
      const from = fix.numericGrade!;
      correction = { ...correction, from, to: from > 90 ? from - 4 : from + 6 };
    }
  }
  const hs1 = students.filter((s) => s.home === 'HS1');
  for (const [c, course] of HS_COURSES.entries()) {
    const records = hs1.map((s) => ({
      studentId: s.id,
      letterGrade: LETTERS[(Number(s.id.slice(-3)) + c * 3) % LETTERS.length]!,
    }));
    await events.postOk(
      'HS1',
      gradeEvent(`grd-HS1-${course.courseId}`, GRADES_AT, { course }, records),
    );
  }
  await events.postOk(
    'CTC1',
    gradeEvent(
      `grd-${correction.kts}-S1-fix-${correction.studentId}`,
      CORRECTED_AT,
      { ktsCourseNumber: correction.kts },
      [{ studentId: correction.studentId, numericGrade: correction.to }],
    ),
  );
  return correction;
}

interface ReportCardGrade {
  source: string;
  schoolId: string;
  courseCode: string;
  title: string;
  term: string;
  gradeType: string;
  letterGrade: string | null;
  numericGrade: number | null;
  postedAt: string;
}

interface Eligibility {
  eligible: boolean;
  passingCourses: number;
  failingCourses: number;
  rule: { maxFailingCourses: number; passingNumericGrade: number };
  reasons: string[];
  notChecked: string[];
}

const markOf = (g: { letterGrade: string | null; numericGrade: number | null }) =>
  [g.letterGrade, g.numericGrade === null ? null : String(g.numericGrade)]
    .filter((x) => x !== null)
    .join(' / ');

async function reportCard(api: Api, token: string, studentId: string) {
  const body = await api.expect(
    200,
    'GET',
    `/v1/students/${studentId}/report-card?schoolYear=${YEAR}&term=S1`,
    token,
  );
  return body.grades as ReportCardGrade[];
}

async function eligibility(api: Api, token: string, studentId: string) {
  return (await api.expect(
    200,
    'GET',
    `/v1/students/${studentId}/eligibility?schoolYear=${YEAR}&term=S1`,
    token,
  )) as unknown as Eligibility;
}

function printEligibility(e: Eligibility, withNotChecked: boolean) {
  console.log(
    `  eligible ${e.eligible}: passing ${e.passingCourses}, failing ${e.failingCourses} (rule: at most ${e.rule.maxFailingCourses} failing, passing at ${e.rule.passingNumericGrade})`,
  );
  for (const r of e.reasons) console.log(`    - ${r}`);
  if (withNotChecked)
    console.log(
      `  not checked (${e.notChecked.length}): ${e.notChecked.map((n) => n.split(':')[0]).join('; ')}`,
    );
}

async function printGrades(
  api: Api,
  tokens: Record<string, string>,
  picks: ReturnType<typeof pickStudents>,
  correction: Awaited<ReturnType<typeof sendGrades>>,
  gradeEvents: Sent[],
) {
  const hs1 = tokens.HS1!;
  const id = picks.featured.id;
  const records = gradeEvents.length;
  console.log(
    `\n== Grades: S1 ${YEAR} semester grades posted (${records} events: ${countBy(gradeEvents, (e) => e.schoolId)})`,
  );
  const fixed = (await reportCard(api, hs1, correction.studentId)).find(
    (g) => g.source === 'tech_center',
  );
  console.log(
    `  correction: CTC1 re-posted ${correction.studentId} ${correction.kts} S1 ${correction.from} -> ${correction.to} (later occurredAt); report card now shows ${fixed ? markOf(fixed) : 'nothing'}`,
  );

  console.log(`\n-- ${id} (HS1, ${picks.featured.section.kts}): report card S1 ${YEAR}`);
  const grades = await reportCard(api, hs1, id);
  console.log(
    table(
      ['source', 'school', 'code', 'title', 'term', 'type', 'grade', 'posted'],
      grades.map((g) => [
        g.source,
        g.schoolId,
        g.courseCode,
        g.title,
        g.term,
        g.gradeType,
        markOf(g),
        g.postedAt.slice(0, 16).replace('T', ' '),
      ]),
    ),
  );

  console.log(`\n-- ${id}: transcript`);
  const transcript = await api.expect(200, 'GET', `/v1/students/${id}/transcript`, hs1);
  const { entries } = TranscriptResponse.parse(transcript);
  console.log(
    table(
      ['year', 'code', 'title', 'term', 'attempted', 'earned', 'grade', 'earned at'],
      entries.map((t) => [
        t.schoolYear,
        t.courseCode,
        t.title,
        t.term,
        String(t.creditsAttempted),
        String(t.creditsEarned),
        t.finalGrade,
        `${t.earnedAt.name} (${t.earnedAt.kind})`,
      ]),
    ),
  );
  const sum = (f: (t: (typeof entries)[number]) => number) => entries.reduce((a, t) => a + f(t), 0);
  console.log(
    `  credits attempted ${sum((t) => t.creditsAttempted)}, earned ${sum((t) => t.creditsEarned)}`,
  );

  console.log(`\n-- ${id}: athletic eligibility S1 ${YEAR} (HS1's default rule)`);
  const before = await eligibility(api, hs1, id);
  printEligibility(before, true);
  await api.expect(200, 'PUT', '/v1/schools/HS1/eligibility-rule', hs1, {
    passingNumericGrade: 60,
    failingLetterGrades: ['F'],
    maxFailingCourses: 1,
    minPassingCourses: 0,
  });
  console.log(`\n-- ${id}: eligibility again after HS1 allows one failing course`);
  const after = await eligibility(api, hs1, id);
  printEligibility(after, false);
  return { before, after };
}

// ------------------------------------------------------------------------------------- waivers

interface Waiver {
  waiverId: string;
  schoolId: string;
  schoolYear: string;
  reason: string;
  status: string;
  requestedAt: string;
  decidedAt: string | null;
}

const waiverRow = (w: Waiver) => [
  w.waiverId.slice(0, 8),
  w.schoolId,
  w.schoolYear,
  w.status,
  w.requestedAt.slice(0, 16).replace('T', ' '),
  w.decidedAt ? w.decidedAt.slice(0, 16).replace('T', ' ') : '-',
  w.reason,
];
const WAIVER_HEADER = ['waiver', 'school', 'year', 'status', 'requested', 'decided', 'reason'];

async function runWaivers(api: Api, admin: string, tokens: Record<string, string>) {
  console.log(`\n== Waivers: asking to leave the exchange for ${NEXT_YEAR}`);
  const asked = (await api.expect(201, 'POST', '/v1/waivers', tokens.CTC1!, {
    schoolYear: NEXT_YEAR,
    reason: 'District SIS replacement in 2027-2028; attendance kept on paper logs.',
  })) as unknown as Waiver;
  console.log('  CTC1 asks -> 201');
  console.log(table(WAIVER_HEADER, [waiverRow(asked)]));
  const atc = await api.call('POST', '/v1/waivers', tokens.ATC1!, {
    schoolYear: NEXT_YEAR,
    reason: 'Same reason as CTC1.',
  });
  const err = atc.body.error as { code: string; message: string } | undefined;
  if (atc.status !== 422)
    throw new DemoError(`ATC1's waiver request answered ${atc.status} (expected 422)`);
  console.log(`  ATC1 asks -> ${atc.status} ${err?.code}: ${err?.message}`);
  const decided = (await api.expect(200, 'POST', `/v1/waivers/${asked.waiverId}/decision`, admin, {
    decision: 'approved',
  })) as unknown as Waiver;
  console.log(`  state office approves ${decided.waiverId.slice(0, 8)} -> 200 ${decided.status}`);
  const list = await api.expect(200, 'GET', '/v1/waivers', admin);
  const waivers = list.waivers as Waiver[];
  console.log(`  GET /v1/waivers as the state office: ${waivers.length}`);
  console.log(table(WAIVER_HEADER, waivers.map(waiverRow)));
  return waivers;
}

// -------------------------------------------------------------------------------- nightly sync

interface RunSchool {
  highSchoolId: string;
  date: string;
  status: string;
  candidates: number;
  created: number;
  alreadyPresent: number;
  errors: number;
  detail: string | null;
}

interface UnknownRow {
  studentId: string;
  date: string;
  period: number;
  status: string | null;
  techSchoolId: string | null;
  ktsCourseNumber: string | null;
  resolved: boolean;
  excuse: string;
  code: string | null;
  techExcuse: string | null;
}

async function runSync(api: Api, admin: string, timeoutMs = 30_000) {
  const { runId } = await api.expect(202, 'POST', '/v1/admin/sync-runs', admin, { date: DAY });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await api.expect(200, 'GET', `/v1/admin/sync-runs/${String(runId)}`, admin);
    if (run.status !== 'running') return run;
    if (Date.now() > deadline)
      throw new DemoError(`sync run ${String(runId)} still running after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Every row of the worklist (pages followed), so the counts are whole. */
async function unknowns(api: Api, token: string, resolved: boolean): Promise<UnknownRow[]> {
  const rows: UnknownRow[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `resolved=${resolved}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const body = await api.expect(200, 'GET', `/v1/high-schools/HS1/unknowns?${q}`, token);
    rows.push(...(body.rows as UnknownRow[]));
    cursor = body.nextCursor as string | null;
  } while (cursor);
  return rows;
}

const unknownRow = (u: UnknownRow) => [
  u.studentId,
  u.date,
  String(u.period),
  u.status ?? '-',
  u.techSchoolId ?? '-',
  u.ktsCourseNumber ?? '-',
  u.excuse,
  u.code ?? '-',
  u.techExcuse ?? '-',
];
const UNKNOWN_HEADER = [
  'student',
  'date',
  'period',
  'status',
  'center',
  'section',
  'excuse',
  'code',
  'tech now',
];

async function nightlySync(
  api: Api,
  admin: string,
  events: EventLog,
  tokens: Record<string, string>,
  featured: Student,
) {
  const hs1 = tokens.HS1!;
  console.log(`\n== Nightly sync: the state office runs it for ${DAY}`);
  const run = await runSync(api, admin);
  console.log(
    `  run ${String(run.runId).slice(0, 8)} (${String(run.kind)}): ${String(run.status)}`,
  );
  const schools = run.schools as RunSchool[];
  console.log(
    table(
      ['school', 'date', 'status', 'candidates', 'created', 'already', 'errors', 'detail'],
      schools.map((s) => [
        s.highSchoolId,
        s.date,
        s.status,
        String(s.candidates),
        String(s.created),
        String(s.alreadyPresent),
        String(s.errors),
        s.detail ?? '-',
      ]),
    ),
  );

  const open = await unknowns(api, hs1, false);
  console.log(`\n-- HS1 unknowns worklist (resolved=false): ${open.length} rows`);
  console.log(table(UNKNOWN_HEADER, open.slice(0, 10).map(unknownRow)));
  if (open.length > 10) console.log(`  ... ${open.length - 10} more rows`);

  // The clerk codes the featured student's first two periods (a parent called in).
  const mine = open.filter((u) => u.studentId === featured.id);
  const toCode = (mine.length >= 2 ? mine : open).slice(0, 2);
  const from = events.sent.length;
  for (const u of toCode) {
    await events.postOk('HS1', {
      type: 'attendance-coded',
      eventId: `code-${u.studentId}-${u.date}-p${u.period}`,
      occurredAt: CODED_AT,
      studentId: u.studentId,
      date: u.date,
      period: u.period,
      excuse: 'excused',
      code: 'PAR',
    });
  }
  await waitApplied(api, events, tokens, from);
  const [stillOpen, resolved] = [await unknowns(api, hs1, false), await unknowns(api, hs1, true)];
  console.log(
    `\n-- HS1 clerk codes ${toCode.map((u) => `${u.studentId} p${u.period}`).join(' and ')} excused PAR: unresolved ${stillOpen.length}, resolved ${resolved.length}`,
  );
  console.log(table(UNKNOWN_HEADER, resolved.map(unknownRow)));
  return {
    run,
    schools,
    open: open.length,
    stillOpen: stillOpen.length,
    resolved: resolved.length,
  };
}

// ------------------------------------------------------------------------------------- history

interface HistoryEntry {
  at: string;
  actor: { schoolId: string | null; credentialId: string | null; job: string | null };
  eventId: string | null;
  record: string;
  action: string;
  disclosedTo: string | null;
}

/** One line per kind of entry (record, action, disclosed to), so changes and disclosures both show. */
async function printHistory(api: Api, token: string, studentId: string) {
  const entries: HistoryEntry[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const body = await api.expect(200, 'GET', `/v1/students/${studentId}/history?${q}`, token);
    entries.push(...(body.entries as HistoryEntry[]));
    cursor = body.nextCursor as string | null;
  } while (cursor);
  const seen = new Set<string>();
  const sample = entries.filter((e) => {
    const k = `${e.record} ${e.action} ${e.disclosedTo ?? ''} ${e.actor.schoolId ?? e.actor.job}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  console.log(
    `\n== History of ${studentId} as HS1: ${entries.length} entries (${countBy(entries, (e) => e.record)}); one of each kind:`,
  );
  console.log(
    table(
      ['at (UTC)', 'actor', 'record', 'action', 'disclosed to', 'event'],
      sample.map((e) => [
        e.at.slice(0, 19).replace('T', ' '),
        e.actor.schoolId ?? `(${e.actor.job ?? 'state office'})`,
        e.record,
        e.action,
        e.disclosedTo ?? '-',
        e.eventId ?? '-',
      ]),
    ),
  );
  return entries.length;
}

// --------------------------------------------------------------------------------------- main

async function runScenario(api: Api, admin: string) {
  const tokens = await seedSchools(api, admin);
  const students = makeStudents();
  await seedStudents(api, tokens, students);
  const events = new EventLog(api, tokens);
  await scheduleStudents(events, students);
  const dropped = await dropSome(events, students);
  // The roster must reflect every schedule change before a center reads it to take attendance.
  await waitForAll(api, events, tokens);

  await sendSchoolDay(api, events, tokens, dropped, students);
  await sendBadEvents(api, events, tokens);
  const idem = await showIdempotency(api, events, tokens);
  const outcomes = await waitForAll(api, events, tokens);
  return { tokens, students, dropped, events, outcomes, idem };
}

/** After the attendance day: grades and eligibility, a waiver, the night's sync and a history. */
async function runLaterSteps(api: Api, admin: string, r: Awaited<ReturnType<typeof runScenario>>) {
  const { tokens, events } = r;
  const picks = pickStudents(r.students, r.dropped);
  const from = events.sent.length;
  const correction = await sendGrades(api, events, tokens, r.students, picks);
  await waitApplied(api, events, tokens, from);
  const eligibility = await printGrades(api, tokens, picks, correction, events.sent.slice(from));
  const waivers = await runWaivers(api, admin, tokens);
  const sync = await nightlySync(api, admin, events, tokens, picks.featured);
  const history = await printHistory(api, tokens.HS1!, picks.featured.id);
  const outcomes = await waitForAll(api, events, tokens);
  return { eligibility, waivers, sync, history, outcomes };
}

async function main() {
  const once = process.argv.includes('--once');
  const started = Date.now();
  const config = demoConfig();
  const dbName = assertDemoOwned(config);
  await resetDatabase(config.DATABASE_URL, dbName);
  const deletedKeys = await resetRedisPrefix(config.REDIS_URL, config.KTS_QUEUE_PREFIX);

  const log = createLogger(config.LOG_LEVEL);
  const port = await choosePort(config.HOST, config.PORT);
  const exchange = await startExchange({ ...config, PORT: port }, log);
  const actualPort = (exchange.app.server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${actualPort}`;
  const ready = Date.now();

  console.log(
    `KSIS-KTS exchange demo: database ${dbName} recreated, ${deletedKeys} Redis keys under ${config.KTS_QUEUE_PREFIX}:* removed`,
  );
  if (port !== config.PORT) console.log(`port ${config.PORT} is busy; listening on ${actualPort}`);
  console.log(`clock starts at ${config.KTS_NOW ?? 'the real time'}; report day ${DAY}`);
  console.log(`admin token: ${config.KTS_ADMIN_TOKEN}`);

  const api = apiClient(base);
  let result;
  try {
    result = await runScenario(api, config.KTS_ADMIN_TOKEN);
    await printReports(api, result.tokens);
    const rejected = await printRejections(api, result.tokens);
    const later = await runLaterSteps(api, config.KTS_ADMIN_TOKEN, result);
    printSummary(result, later, rejected, ready - started, Date.now() - ready);
  } catch (err) {
    await exchange.close();
    throw err;
  }

  if (once) {
    const { forced } = await exchange.close();
    process.exit(forced ? 1 : 0);
  }
  serve(exchange, base, config.KTS_ADMIN_TOKEN);
}

function printSummary(
  r: Awaited<ReturnType<typeof runScenario>>,
  later: Awaited<ReturnType<typeof runLaterSteps>>,
  rejectedRecords: number,
  startMs: number,
  runMs: number,
) {
  const o = later.outcomes;
  console.log('\n== Summary');
  console.log(
    `  schools ${SCHOOLS.length}, sections ${SECTIONS.length}, students ${r.students.length}`,
  );
  console.log(`  events sent ${r.events.sent.length} (${countBy(r.events.sent, (e) => e.type)})`);
  console.log(
    `  applied ${o.applied}, partially applied ${o.partially_applied}, rejected ${o.rejected}; rejected records ${rejectedRecords}`,
  );
  const conflict = (r.idem.conflict.body.error as { code?: string } | undefined)?.code ?? '?';
  console.log(
    `  idempotency: ${r.idem.eventId} sent again -> ${r.idem.again.status} (status ${String(r.idem.again.body.status)}); same id, different body -> ${r.idem.conflict.status} ${conflict}`,
  );
  const { before, after } = later.eligibility;
  const s = later.sync;
  console.log(
    `  eligibility: ${before.eligible} -> ${after.eligible} with maxFailingCourses 1; waivers ${later.waivers.length} (${countBy(later.waivers, (w) => `${w.schoolId} ${w.status}`)})`,
  );
  console.log(
    `  sync ${String(s.run.status)}: ${s.schools.map((x) => `${x.highSchoolId} created ${x.created}`).join(', ')}; unknowns ${s.open} -> unresolved ${s.stillOpen}, resolved ${s.resolved}; history entries ${later.history}`,
  );
  console.log(
    `  elapsed: ${startMs + runMs} ms (reset, migrate and listen ${startMs} ms; seeding, events and reads ${runMs} ms)`,
  );
}

/** Keeps the exchange up for exploring; a signal closes it in order, a second one exits at once. */
function serve(exchange: Exchange, base: string, adminToken: string) {
  console.log('\nThe exchange keeps running (Ctrl-C to stop):');
  console.log(`  API base URL: ${base}/v1`);
  console.log(`  dashboard:    ${base}/ops/queues   (any username, password = the admin token)`);
  console.log(`  admin token:  ${adminToken}`);
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(130);
    exchange
      .close()
      .then(({ forced }) => process.exit(forced ? 1 : 0))
      .catch((err: unknown) => {
        console.error(`demo: shutdown failed: ${errText(err)}`);
        process.exit(1);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof DemoError) {
    console.error(`demo: ${err.message}`);
  } else {
    const msg = errText(err);
    const hint = /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|connect/i.test(msg) ? ` ${SERVICES_HINT}` : '';
    console.error(`demo: failed: ${msg}.${hint}`);
  }
  process.exit(1);
});

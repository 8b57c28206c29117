import { expect } from 'vitest';
import { startTestExchange, type TestExchange } from './context.ts';
import { createClock, type Clock } from '../../shared/clock.ts';
import type { Db } from '../../shared/db/client.ts';
import { createLogger } from '../../shared/logger.ts';
import { applyEvent } from '../../workers/apply-event.ts';

/** Wednesday, January 20, 2027, 10:00 in Kentucky's eastern zone: "today" in most tests. */
export const NOW = '2027-01-20T15:00:00.000Z';
export const YEAR = '2026-2027';

export interface County {
  tokens: { hs1: string; hs2: string; atc: string; ctc: string; ops: string };
  students: { hs1: string[]; hs2: string[] };
  sections: { atcWelding: string; atcNursing: string; ctcAuto: string };
}

export const studentIdFor = (n: number) => String(1_000_000_000 + n);

async function ok(res: Promise<{ status: number; body: unknown }>, status = 200) {
  const r = await res;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body as Record<string, unknown>;
}

/**
 * A small county: two high schools, an ATC and a CTC, a 2026-2027 calendar each, three sections,
 * a few students per high school and one credential per school. Students are not yet scheduled.
 */
export async function seedCounty(
  t: TestExchange,
  opts: { studentsPerSchool?: number } = {},
): Promise<County> {
  const n = opts.studentsPerSchool ?? 4;
  const schools = [
    {
      id: 'HS1',
      name: 'Bourbon County High',
      kind: 'high_school',
      timezone: 'America/New_York',
      attendanceSync: true,
    },
    { id: 'HS2', name: 'Harrison County High', kind: 'high_school', timezone: 'America/New_York' },
    { id: 'ATC1', name: 'Bourbon County ATC', kind: 'atc', timezone: 'America/New_York' },
    { id: 'CTC1', name: 'Paris Career Center', kind: 'ctc', timezone: 'America/New_York' },
  ];
  for (const s of schools) {
    const { id, ...body } = s;
    await ok(t.api('PUT', `/v1/schools/${id}`, { body: { ...body, districtId: 'D-017' } }));
    await ok(
      t.api('PUT', `/v1/schools/${id}/calendars/${YEAR}`, {
        body: {
          firstDay: '2026-08-12',
          lastDay: '2027-05-28',
          nonInstructionalDays: ['2027-01-18'],
          periods: [{ period: 1, start: '08:00', end: '08:55' }],
        },
      }),
    );
  }
  const sections = {
    atcWelding: 'ATC1-WLD-101',
    atcNursing: 'ATC1-NUR-201',
    ctcAuto: 'CTC1-AUT-301',
  };
  await ok(
    t.api('PUT', `/v1/tech-centers/ATC1/sections/${YEAR}/${sections.atcWelding}`, {
      body: { courseCode: '480101', title: 'Welding I', credits: 1, term: 'year' },
    }),
  );
  await ok(
    t.api('PUT', `/v1/tech-centers/ATC1/sections/${YEAR}/${sections.atcNursing}`, {
      body: { courseCode: '170101', title: 'Nurse Aide', credits: 1, term: 'S2' },
    }),
  );
  await ok(
    t.api('PUT', `/v1/tech-centers/CTC1/sections/${YEAR}/${sections.ctcAuto}`, {
      body: { courseCode: '470604', title: 'Auto Technology', credits: 2, term: 'year' },
    }),
  );

  const students = { hs1: [] as string[], hs2: [] as string[] };
  for (let i = 0; i < n; i++) {
    for (const [home, list, base] of [
      ['HS1', students.hs1, 0],
      ['HS2', students.hs2, 500],
    ] as const) {
      const id = studentIdFor(base + i + 1);
      await ok(
        t.api('PUT', `/v1/students/${id}`, {
          body: {
            homeSchoolId: home,
            firstName: `First${base + i}`,
            lastName: `Last${base + i}`,
            gradeLevel: 11,
          },
        }),
      );
      list.push(id);
    }
  }
  const cred = async (body: object) =>
    String((await ok(t.api('POST', '/v1/credentials', { body }), 201)).token);
  const tokens = {
    hs1: await cred({ schoolId: 'HS1', label: 'IC hook' }),
    hs2: await cred({ schoolId: 'HS2' }),
    atc: await cred({ schoolId: 'ATC1' }),
    ctc: await cred({ schoolId: 'CTC1' }),
    ops: await cred({ role: 'ops' }),
  };
  return { tokens, students, sections };
}

let seq = 0;
export const nextEventId = (p = 'e') => `${p}-${Date.now().toString(36)}-${++seq}`;

export const enroll = (studentId: string, kts: string, over: Record<string, unknown> = {}) => ({
  type: 'enrollment-changed',
  eventId: nextEventId('enr'),
  occurredAt: '2027-01-04T08:00:00-05:00',
  schoolYear: YEAR,
  studentId,
  ktsCourseNumber: kts,
  action: 'add',
  effectiveDate: '2027-01-04',
  hsPeriods: [1, 2, 3],
  ...over,
});

export const attendance = (
  kts: string,
  date: string,
  records: object[],
  over: Record<string, unknown> = {},
) => ({
  type: 'attendance-entered',
  eventId: nextEventId('att'),
  occurredAt: `${date}T09:10:00-05:00`,
  ktsCourseNumber: kts,
  date,
  records,
  ...over,
});

/** Poll the event until a worker has applied it. */
export async function applied(t: TestExchange, eventId: string, token: string, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await t.api('GET', `/v1/events/${eventId}`, { token });
    if (r.status === 200 && r.body.status !== 'pending') return r.body;
    if (Date.now() > end)
      throw new Error(
        `event ${eventId} not applied within ${timeoutMs} ms: ${JSON.stringify(r.body)}`,
      );
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** An exchange on a fresh database at NOW with the county seeded (closed again if seeding fails). */
export async function seededExchange(
  opts: { studentsPerSchool?: number } = {},
): Promise<{ t: TestExchange; c: County }> {
  const t = await startTestExchange({ clock: createClock(NOW) });
  const c = await seedCounty(t, opts).catch(async (err: unknown) => {
    await t.close();
    throw err;
  });
  return { t, c };
}

/** Like createClock (runs forward in real time), but it can be moved to another instant. */
export function steerableClock(startAt: string): Clock & { set(at: string): void } {
  let offset = Date.parse(startAt) - Date.now();
  return {
    now: () => new Date(Date.now() + offset),
    set(at: string) {
      offset = Date.parse(at) - Date.now();
    },
  };
}

/** Every stored event, of any school and status: a request that must store nothing leaves it as is. */
export const countEvents = async (t: TestExchange) =>
  Number(
    (
      await t.db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

/** The stored sequence number of an event (its job is `evt-<seq>`). */
export async function seqOf(t: TestExchange, eventId: string): Promise<number> {
  const row = await t.db
    .selectFrom('events')
    .select('seq')
    .where('event_id', '=', eventId)
    .executeTakeFirstOrThrow();
  return row.seq;
}

const silent = createLogger('silent');

/**
 * Enroll `students` on `kts` through the API and apply each event right here (applyEvent), so a
 * roster is in place without any worker running.
 */
export async function enrollInProcess(
  t: TestExchange,
  token: string,
  students: readonly string[],
  kts: string,
): Promise<void> {
  const deps = { config: t.config, db: t.db, clock: t.exchange.clock, log: silent };
  for (const s of students) {
    const e = enroll(s, kts);
    expect((await t.api('POST', '/v1/events', { token, body: e })).status).toBe(202);
    expect((await applyEvent(deps, await seqOf(t, e.eventId), silent)).outcome).toBe('applied');
  }
}

/** School days of January 2027 up to "today" (Wednesday the 20th; the 18th is a holiday). */
export const JANUARY_DAYS = [
  '2027-01-04',
  '2027-01-05',
  '2027-01-06',
  '2027-01-07',
  '2027-01-08',
  '2027-01-11',
  '2027-01-12',
  '2027-01-13',
  '2027-01-14',
  '2027-01-15',
  '2027-01-19',
  '2027-01-20',
];

/**
 * A load for the outage tests: per day, the students in groups of `perEvent`, one attendance event
 * (all absent) per group, so every record is a distinct (student, day) and leaves its own row.
 */
export function attendanceLoad(
  kts: string,
  students: readonly string[],
  dates: readonly string[],
  perEvent: number,
) {
  return dates.flatMap((date) =>
    Array.from({ length: students.length / perEvent }, (_, k) =>
      attendance(
        kts,
        date,
        students
          .slice(k * perEvent, (k + 1) * perEvent)
          .map((studentId) => ({ studentId, status: 'absent', excuse: 'unknown' })),
      ),
    ),
  );
}

/** Attendance history entries, counted per (event, student): more than one is a duplicated effect. */
export async function attendanceHistory(db: Db) {
  const history = await db
    .selectFrom('history')
    .select(['student_id', 'event_id'])
    .where('record', '=', 'attendance')
    .execute();
  const historyOf = new Map<string, number>();
  for (const h of history) {
    const k = `${h.event_id}|${h.student_id}`;
    historyOf.set(k, (historyOf.get(k) ?? 0) + 1);
  }
  const duplicated = [...historyOf.values()].filter((n) => n > 1).length;
  return { history, historyOf, duplicated };
}

/** The stored attendance events, and which of the acknowledged ones (`acked`) are applied. */
export async function appliedOf<R extends { eventId: string }>(db: Db, acked: readonly R[]) {
  const events = await db
    .selectFrom('events')
    .select(['event_id', 'status'])
    .where('type', '=', 'attendance-entered')
    .execute();
  const statusOf = new Map(events.map((e) => [e.event_id, e.status]));
  return { events, applied: acked.filter((r) => statusOf.get(r.eventId) === 'applied') };
}

/** Expect one attendance row on `date` per student, absent, written by the event at its index. */
export async function expectOneAbsenceEach(
  db: Db,
  date: string,
  students: readonly string[],
  eventIds: readonly string[],
): Promise<void> {
  const rows = await db
    .selectFrom('attendance')
    .select(['student_id', 'event_id', 'status'])
    .where('date', '=', date)
    .orderBy('student_id')
    .execute();
  expect(rows).toEqual(
    students.map((studentId, i) => ({
      student_id: studentId,
      event_id: eventIds[i],
      status: 'absent',
    })),
  );
}

/** History entries the attendance sync wrote (record 'unknown', action 'synced'). */
export const syncedHistory = (t: TestExchange) =>
  t.db
    .selectFrom('history')
    .select('student_id')
    .where('record', '=', 'unknown')
    .where('action', '=', 'synced')
    .execute();

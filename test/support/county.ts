import { expect } from 'vitest';
import type { TestExchange } from './context.ts';

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

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestExchange } from '../support/context.ts';
import {
  applied,
  attendance,
  enroll,
  seededExchange,
  YEAR,
  type County,
} from '../support/county.ts';

let t: TestExchange;
let c: County;

beforeAll(async () => {
  ({ t, c } = await seededExchange());
});
afterAll(async () => t?.close());

describe('the vertical slice: enrollment builds the roster, attendance reaches the high school', () => {
  it('schedules students, takes attendance, shows the real-time report', async () => {
    const [s1, s2] = c.students.hs1;
    for (const s of [s1!, s2!]) {
      const e = enroll(s, c.sections.atcWelding);
      const r = await t.api('POST', '/v1/events', { token: c.tokens.hs1, body: e });
      expect(r.status).toBe(202);
      expect(r.body).toEqual({ eventId: e.eventId, status: 'pending' });
      expect((await applied(t, e.eventId, c.tokens.hs1)).status).toBe('applied');
    }
    const roster = await t.api(
      'GET',
      `/v1/tech-centers/ATC1/rosters/${YEAR}/${c.sections.atcWelding}`,
      { token: c.tokens.atc },
    );
    expect(roster.status).toBe(200);
    expect(roster.body.students.map((s: { studentId: string }) => s.studentId).sort()).toEqual(
      [s1, s2].sort(),
    );
    expect(roster.body.students[0]).toMatchObject({
      hsPeriods: [1, 2, 3],
      startDate: '2027-01-04',
      endDate: null,
      homeSchoolId: 'HS1',
    });

    const a = attendance(c.sections.atcWelding, '2027-01-19', [
      { studentId: s1, status: 'absent', excuse: 'unknown' },
      { studentId: s2, status: 'present' },
      { studentId: c.students.hs2[0], status: 'tardy', excuse: 'unknown' },
    ]);
    expect((await t.api('POST', '/v1/events', { token: c.tokens.atc, body: a })).status).toBe(202);
    const view = await applied(t, a.eventId, c.tokens.atc);
    expect(view.status).toBe('partially_applied');
    expect(view.rejections).toEqual([
      expect.objectContaining({
        recordIndex: 2,
        code: 'not_on_roster',
        studentId: c.students.hs2[0],
      }),
    ]);

    const report = await t.api('GET', '/v1/high-schools/HS1/attendance?date=2027-01-19', {
      token: c.tokens.hs1,
    });
    expect(report.status).toBe(200);
    expect(report.body.rows).toHaveLength(2);
    expect(report.body.rows.find((r: { studentId: string }) => r.studentId === s1)).toMatchObject({
      techSchoolId: 'ATC1',
      ktsCourseNumber: c.sections.atcWelding,
      hsPeriods: [1, 2, 3],
      status: 'absent',
      excuse: 'unknown',
      code: null,
      occurredAt: '2027-01-19T14:10:00.000Z',
    });
    const rows = await t.db
      .selectFrom('attendance')
      .selectAll()
      .where('date', '=', '2027-01-19')
      .execute();
    expect(rows).toHaveLength(2);

    // What sits in Redis (and on the dashboard) is a reference to the stored event, no student data.
    const queue = t.exchange.enqueuer!.queues.find((q) => q.name === 'attendance')!;
    const { seq } = await t.db
      .selectFrom('events')
      .select('seq')
      .where('event_id', '=', a.eventId)
      .executeTakeFirstOrThrow();
    const job = await queue.getJob(`evt-${seq}`);
    expect(job?.data).toEqual({ eventSeq: seq, schoolId: 'ATC1', eventId: a.eventId });
    expect(JSON.stringify(job?.data)).not.toMatch(/1000000|First|Last/);
  });
});

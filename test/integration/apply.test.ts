import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { startTestExchange, eventually, type TestExchange } from '../support/context.ts';
import {
  applied,
  attendance,
  enroll,
  NOW,
  seedCounty,
  YEAR,
  type County,
} from '../support/county.ts';
import { createClock } from '../../shared/clock.ts';
import { createLogger } from '../../shared/logger.ts';
import { ApiError } from '../../shared/errors.ts';
import { EventBody, canonicalBody, type EventInput } from '../../shared/events.ts';
import type { Actor } from '../../shared/identity.ts';
import { applyEvent, type ApplyOutcome } from '../../workers/apply-event.ts';
import type { WorkerDeps } from '../../workers/deps.ts';
import { createProducer } from '../../producers/producer.ts';

const log = createLogger('silent');
const opened: TestExchange[] = [];

/** A fresh exchange on its own database and prefix, seeded; closed after the file. */
async function fresh(env?: Record<string, string>): Promise<{ t: TestExchange; c: County }> {
  const t = await startTestExchange({ clock: createClock(NOW), env });
  opened.push(t);
  const c = await seedCounty(t, { studentsPerSchool: 6 });
  return { t, c };
}
afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
});

async function post(t: TestExchange, token: string, body: unknown, status = 202) {
  const r = await t.api('POST', '/v1/events', { token, body });
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r;
}

async function seqOf(t: TestExchange, schoolId: string, eventId: string): Promise<number> {
  const row = await t.db
    .selectFrom('events')
    .select('seq')
    .where('school_id', '=', schoolId)
    .where('event_id', '=', eventId)
    .executeTakeFirstOrThrow();
  return row.seq;
}

const workerDeps = (t: TestExchange): WorkerDeps => ({
  config: t.config,
  db: t.db,
  clock: t.exchange.clock,
  log,
});

/** Store the event through HTTP (api-only exchange: nothing consumes the queue) and return its seq. */
async function store(t: TestExchange, schoolId: string, token: string, body: { eventId: string }) {
  await post(t, token, body);
  return seqOf(t, schoolId, body.eventId);
}

const applySeq = (t: TestExchange, seq: number) => applyEvent(workerDeps(t), seq, log);

async function eventRow(t: TestExchange, schoolId: string, eventId: string) {
  return t.db
    .selectFrom('events')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('event_id', '=', eventId)
    .executeTakeFirstOrThrow();
}

async function attendanceRows(t: TestExchange, kts: string, date: string) {
  return t.db
    .selectFrom('attendance')
    .selectAll()
    .where('kts_course_number', '=', kts)
    .where('date', '=', date)
    .orderBy('student_id')
    .execute();
}

async function spans(t: TestExchange, kts: string, studentId: string) {
  return t.db
    .selectFrom('roster_spans')
    .select(['start_date', 'end_date', 'hs_periods'])
    .where('school_year', '=', YEAR)
    .where('kts_course_number', '=', kts)
    .where('student_id', '=', studentId)
    .orderBy('start_date')
    .execute();
}

/** Enroll students through stored events applied directly (api-only exchange). */
async function enrollDirect(
  t: TestExchange,
  token: string,
  home: 'HS1' | 'HS2',
  students: string[],
  kts: string,
  over: Record<string, unknown> = {},
) {
  for (const s of students) {
    const seq = await store(t, home, token, enroll(s, kts, over));
    expect((await applySeq(t, seq)).outcome).toBe('applied');
  }
}

describe('a job processed twice has one effect', () => {
  it('applyEvent run twice concurrently and once more: one row, one history entry per student', async () => {
    const { t, c } = await fresh({ KTS_ROLES: 'api' });
    const [s1, s2] = c.students.hs1 as [string, string];
    await enrollDirect(t, c.tokens.hs1, 'HS1', [s1, s2], c.sections.atcWelding);
    const e = attendance(c.sections.atcWelding, '2027-01-19', [
      { studentId: s1, status: 'absent', excuse: 'unknown' },
      { studentId: s2, status: 'present' },
    ]);
    const seq = await store(t, 'ATC1', c.tokens.atc, e);

    const both = await Promise.all([applySeq(t, seq), applySeq(t, seq)]);
    const again = await applySeq(t, seq);
    const outcomes = [...both, again].map((o: ApplyOutcome) => o.outcome).sort();
    expect(outcomes).toEqual(['already_applied', 'already_applied', 'applied']);

    const rows = await attendanceRows(t, c.sections.atcWelding, '2027-01-19');
    expect(rows.map((r) => [r.student_id, r.status, r.event_id, r.event_seq])).toEqual([
      [s1, 'absent', e.eventId, seq],
      [s2, 'present', e.eventId, seq],
    ]);
    const history = await t.db
      .selectFrom('history')
      .select(['student_id', 'action'])
      .where('event_id', '=', e.eventId)
      .where('record', '=', 'attendance')
      .orderBy('student_id')
      .execute();
    expect(history).toEqual([
      { student_id: s1, action: 'create' },
      { student_id: s2, action: 'create' },
    ]);
    const ev = await eventRow(t, 'ATC1', e.eventId);
    expect(ev.status).toBe('applied');
    expect(ev.applied_at).not.toBeNull();
    const rej = await t.db
      .selectFrom('event_rejections')
      .select('code')
      .where('event_seq', '=', seq)
      .execute();
    expect(rej).toEqual([]);
    const view = await t.api('GET', `/v1/events/${e.eventId}`, { token: c.tokens.atc });
    expect(view.body).toMatchObject({ status: 'applied', rejections: [] });
  });

  it('a second BullMQ job (another jobId, same eventSeq) on the real queue changes nothing', async () => {
    const { t, c } = await fresh();
    const s = c.students.hs2[3]!;
    const en = enroll(s, c.sections.atcWelding);
    await post(t, c.tokens.hs2, en);
    expect((await applied(t, en.eventId, c.tokens.hs2)).status).toBe('applied');

    const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    const queue = new Queue('attendance', { connection: redis, prefix: t.prefix });
    try {
      const e = attendance(c.sections.atcWelding, '2027-01-14', [
        { studentId: s, status: 'tardy', excuse: 'unknown', minutesAbsent: 7 },
      ]);
      await post(t, c.tokens.atc, e);
      const seq = await seqOf(t, 'ATC1', e.eventId);
      const data = { eventSeq: seq, schoolId: 'ATC1', eventId: e.eventId };
      // Straight after the original: both copies may run at once.
      await queue.add('apply-attendance', data, { jobId: `dup-a-${seq}` });
      expect((await applied(t, e.eventId, c.tokens.atc)).status).toBe('applied');
      // And once more after the event is applied.
      await queue.add('apply-attendance', data, { jobId: `dup-b-${seq}` });

      const finished = async (id: string) =>
        eventually(async () => {
          const job = await queue.getJob(id);
          return job && (await job.getState()) === 'completed' ? job : null;
        });
      const jobs = await Promise.all(
        [`evt-${seq}`, `dup-a-${seq}`, `dup-b-${seq}`].map((id) => finished(id)),
      );
      const results = jobs.map((j) => (j.returnvalue as ApplyOutcome).outcome);
      expect(results[2]).toBe('already_applied');
      expect(results.slice(0, 2).sort()).toEqual(['already_applied', 'applied']);

      const rows = await attendanceRows(t, c.sections.atcWelding, '2027-01-14');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        student_id: s,
        status: 'tardy',
        minutes_absent: 7,
        event_seq: seq,
      });
      const history = await t.db
        .selectFrom('history')
        .select(['student_id', 'action'])
        .where('event_id', '=', e.eventId)
        .where('record', '=', 'attendance')
        .execute();
      expect(history).toEqual([{ student_id: s, action: 'create' }]);
      expect((await eventRow(t, 'ATC1', e.eventId)).status).toBe('applied');
      expect(await queue.getFailedCount()).toBe(0);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });
});

describe('two events for one natural key: the later occurredAt wins in any order', () => {
  let t: TestExchange;
  let c: County;
  let s1: string;
  const kts = () => c.sections.atcNursing;
  beforeAll(async () => {
    ({ t, c } = await fresh({ KTS_ROLES: 'api' }));
    s1 = c.students.hs1[0]!;
    await enrollDirect(t, c.tokens.hs1, 'HS1', [s1], c.sections.atcNursing);
  });

  const rec = (status: 'absent' | 'present') =>
    status === 'present' ? { studentId: s1, status } : { studentId: s1, status, excuse: 'unknown' };

  async function both(
    date: string,
    first: { eventId: string; occurredAt: string; status: 'absent' | 'present' },
    second: { eventId: string; occurredAt: string; status: 'absent' | 'present' },
  ) {
    const ev = (x: typeof first) =>
      attendance(kts(), date, [rec(x.status)], { eventId: x.eventId, occurredAt: x.occurredAt });
    const a = await store(t, 'ATC1', c.tokens.atc, ev(first));
    const b = await store(t, 'ATC1', c.tokens.atc, ev(second));
    expect((await applySeq(t, a)).outcome).toBe('applied');
    expect((await applySeq(t, b)).outcome).toBe('applied');
    for (const id of [first.eventId, second.eventId])
      expect((await eventRow(t, 'ATC1', id)).status).toBe('applied');
    const rows = await attendanceRows(t, kts(), date);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  it('attendance: v2 (present 09:40) applied before v1 (absent 09:10) stays in force', async () => {
    const row = await both(
      '2027-01-19',
      { eventId: 'ord-19-v2', occurredAt: '2027-01-19T09:40:00-05:00', status: 'present' },
      { eventId: 'ord-19-v1', occurredAt: '2027-01-19T09:10:00-05:00', status: 'absent' },
    );
    expect(row).toMatchObject({ status: 'present', excuse: null, event_id: 'ord-19-v2' });
    expect(row.occurred_at.toISOString()).toBe('2027-01-19T14:40:00.000Z');
    // The losing event wrote no history.
    const h = await t.db
      .selectFrom('history')
      .select('event_id')
      .where('record', '=', 'attendance')
      .where('event_id', 'in', ['ord-19-v1', 'ord-19-v2'])
      .execute();
    expect(h).toEqual([{ event_id: 'ord-19-v2' }]);
  });

  it('attendance: v1 then v2 ends as v2', async () => {
    const row = await both(
      '2027-01-13',
      { eventId: 'ord-13-v1', occurredAt: '2027-01-13T09:10:00-05:00', status: 'absent' },
      { eventId: 'ord-13-v2', occurredAt: '2027-01-13T09:40:00-05:00', status: 'present' },
    );
    expect(row).toMatchObject({ status: 'present', excuse: null, event_id: 'ord-13-v2' });
  });

  it('attendance: a 1 ms later occurredAt beats a bytewise greater eventId', async () => {
    const row = await both(
      '2027-01-12',
      { eventId: 'ms-A', occurredAt: '2027-01-12T09:10:00.001-05:00', status: 'absent' },
      { eventId: 'ms-B', occurredAt: '2027-01-12T09:10:00.000-05:00', status: 'present' },
    );
    expect(row).toMatchObject({ status: 'absent', event_id: 'ms-A' });
  });

  it("attendance tie on occurredAt: 'B' beats 'A' (winner applied first)", async () => {
    const at = '2027-01-15T09:10:00-05:00';
    const row = await both(
      '2027-01-15',
      { eventId: 'tie1-B', occurredAt: at, status: 'present' },
      { eventId: 'tie1-A', occurredAt: at, status: 'absent' },
    );
    expect(row).toMatchObject({ status: 'present', event_id: 'tie1-B' });
  });

  it("attendance tie on occurredAt: 'a' beats 'B' bytewise (loser applied first)", async () => {
    // Equal instants written with different offsets.
    const row = await both(
      '2027-01-14',
      { eventId: 'tie2-B', occurredAt: '2027-01-14T09:10:00-05:00', status: 'present' },
      { eventId: 'tie2-a', occurredAt: '2027-01-14T14:10:00Z', status: 'absent' },
    );
    expect(row).toMatchObject({ status: 'absent', excuse: 'unknown', event_id: 'tie2-a' });
  });

  it('enrollment: a corrected add on the same effective date wins in both orders', async () => {
    const [a, b] = [c.students.hs1[1]!, c.students.hs1[2]!];
    const v1 = (s: string, id: string) =>
      enroll(s, c.sections.atcWelding, {
        eventId: id,
        hsPeriods: [1, 2],
        occurredAt: '2027-01-04T08:00:00-05:00',
      });
    const v2 = (s: string, id: string) =>
      enroll(s, c.sections.atcWelding, {
        eventId: id,
        hsPeriods: [3, 4],
        occurredAt: '2027-01-04T09:00:00-05:00',
      });
    // a: v2 then v1; b: v1 then v2.
    for (const [s, order] of [
      [a, [v2(a, 'enr-a-v2'), v1(a, 'enr-a-v1')]],
      [b, [v1(b, 'enr-b-v1'), v2(b, 'enr-b-v2')]],
    ] as const) {
      const seqs = [];
      for (const e of order) seqs.push(await store(t, 'HS1', c.tokens.hs1, e));
      for (const q of seqs) expect((await applySeq(t, q)).outcome).toBe('applied');
      expect(await spans(t, c.sections.atcWelding, s)).toEqual([
        { start_date: '2027-01-04', end_date: null, hs_periods: [3, 4] },
      ]);
      for (const e of order) expect((await eventRow(t, 'HS1', e.eventId)).status).toBe('applied');
    }
    const actions = await t.db
      .selectFrom('enrollment_actions')
      .select(['student_id', 'event_id', 'hs_periods'])
      .where('kts_course_number', '=', c.sections.atcWelding)
      .where('student_id', 'in', [a, b])
      .orderBy('student_id')
      .execute();
    expect(actions).toEqual([
      { student_id: a, event_id: 'enr-a-v2', hs_periods: [3, 4] },
      { student_id: b, event_id: 'enr-b-v2', hs_periods: [3, 4] },
    ]);
  });

  it('enrollment: add then drop closes the span the day before the drop, in both orders', async () => {
    const [a, b] = [c.students.hs1[3]!, c.students.hs1[4]!];
    const add = (s: string) => enroll(s, c.sections.atcWelding, { hsPeriods: [2] });
    const drop = (s: string) =>
      enroll(s, c.sections.atcWelding, {
        action: 'drop',
        effectiveDate: '2027-01-15',
        occurredAt: '2027-01-15T08:00:00-05:00',
        hsPeriods: [],
      });
    for (const [s, order] of [
      [a, [add(a), drop(a)]],
      [b, [drop(b), add(b)]],
    ] as const) {
      const seqs = [];
      for (const e of order) seqs.push(await store(t, 'HS1', c.tokens.hs1, e));
      for (const q of seqs) expect((await applySeq(t, q)).outcome).toBe('applied');
      expect(await spans(t, c.sections.atcWelding, s)).toEqual([
        { start_date: '2027-01-04', end_date: '2027-01-14', hs_periods: [2] },
      ]);
      for (const e of order) expect((await eventRow(t, 'HS1', e.eventId)).status).toBe('applied');
    }
  });
});

describe('a bad record is rejected alone while the rest applies', () => {
  let t: TestExchange;
  let c: County;
  beforeAll(async () => {
    ({ t, c } = await fresh());
  });

  it('attendance: not_on_roster, outside_enrollment, not_instructional_day, future_date, unknown_section', async () => {
    const kts = c.sections.atcNursing;
    const [good, late] = [c.students.hs1[4]!, c.students.hs1[5]!];
    const stranger = c.students.hs2[2]!;
    const e1 = enroll(good, kts);
    const e2 = enroll(late, kts, { effectiveDate: '2027-01-20' });
    for (const e of [e1, e2]) {
      await post(t, c.tokens.hs1, e);
      expect((await applied(t, e.eventId, c.tokens.hs1)).status).toBe('applied');
    }

    const main = attendance(kts, '2027-01-19', [
      { studentId: good, status: 'absent', excuse: 'unknown', code: 'A1' },
      { studentId: stranger, status: 'present' },
      { studentId: late, status: 'tardy', excuse: 'unknown' },
    ]);
    const weekend = attendance(kts, '2027-01-16', [{ studentId: good, status: 'present' }]);
    const holiday = attendance(kts, '2027-01-18', [{ studentId: good, status: 'present' }]);
    const future = attendance(kts, '2027-01-21', [{ studentId: good, status: 'present' }]);
    const noSection = attendance('ATC1-NOPE-999', '2027-01-19', [
      { studentId: good, status: 'present' },
    ]);
    const expected: Record<string, { status: string; rej: [number, string, string][] }> = {
      [main.eventId]: {
        status: 'partially_applied',
        rej: [
          [1, stranger, 'not_on_roster'],
          [2, late, 'outside_enrollment'],
        ],
      },
      [weekend.eventId]: { status: 'rejected', rej: [[0, good, 'not_instructional_day']] },
      [holiday.eventId]: { status: 'rejected', rej: [[0, good, 'not_instructional_day']] },
      [future.eventId]: { status: 'rejected', rej: [[0, good, 'future_date']] },
      [noSection.eventId]: { status: 'rejected', rej: [[0, good, 'unknown_section']] },
    };
    const order = [main, weekend, holiday, future, noSection];
    for (const e of order) {
      await post(t, c.tokens.atc, e);
      const view = await applied(t, e.eventId, c.tokens.atc);
      const want = expected[e.eventId]!;
      expect(view.status, e.eventId).toBe(want.status);
      expect(view.rejections).toHaveLength(want.rej.length);
      view.rejections.forEach(
        (
          r: { recordIndex: number; studentId: string; code: string; message: string },
          i: number,
        ) => {
          const [idx, sid, code] = want.rej[i]!;
          expect(r).toEqual({ recordIndex: idx, studentId: sid, code, message: r.message });
          expect(typeof r.message).toBe('string');
          expect(r.message.length).toBeGreaterThan(10);
        },
      );
    }
    // A center must not learn about another school's student from a message.
    const strangerMsg = (await applied(t, main.eventId, c.tokens.atc)).rejections[0].message;
    expect(strangerMsg).not.toMatch(/HS2|Harrison|First50|Last50/);

    const list = await t.api('GET', '/v1/schools/ATC1/rejections', { token: c.tokens.atc });
    expect(list.status).toBe(200);
    const mine = list.body.rejections.filter((r: { eventId: string }) =>
      order.some((e) => e.eventId === r.eventId),
    );
    // Newest first: the events were applied one after another, and within an event the last record first.
    const want = order
      .flatMap((e) =>
        expected[e.eventId]!.rej.map(([recordIndex, studentId, code]) => ({
          eventId: e.eventId,
          type: 'attendance-entered',
          recordIndex,
          studentId,
          code,
        })),
      )
      .reverse();
    expect(
      mine.map((r: Record<string, unknown>) => ({
        eventId: r.eventId,
        type: r.type,
        recordIndex: r.recordIndex,
        studentId: r.studentId,
        code: r.code,
      })),
    ).toEqual(want);
    for (const r of mine) {
      expect(r.message.length).toBeGreaterThan(10);
      expect(r.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    const ats = mine.map((r: { at: string }) => r.at);
    expect([...ats].sort().reverse()).toEqual(ats);

    // Only the good record was written.
    const rows = await t.db
      .selectFrom('attendance')
      .select(['student_id', 'kts_course_number', 'date', 'status', 'code', 'event_id'])
      .where('tech_school_id', '=', 'ATC1')
      .execute();
    expect(rows).toEqual([
      {
        student_id: good,
        kts_course_number: kts,
        date: '2027-01-19',
        status: 'absent',
        code: 'A1',
        event_id: main.eventId,
      },
    ]);
  });

  it("enrollment: another high school's student is unknown_student, an unpublished section unknown_section", async () => {
    const other = c.students.hs2[0]!;
    const theirs = enroll(other, c.sections.atcWelding);
    const noSection = enroll(c.students.hs1[0]!, 'ATC1-NOPE-999');
    for (const [e, code] of [
      [theirs, 'unknown_student'],
      [noSection, 'unknown_section'],
    ] as const) {
      await post(t, c.tokens.hs1, e);
      const view = await applied(t, e.eventId, c.tokens.hs1);
      expect(view.status).toBe('rejected');
      expect(view.rejections).toEqual([
        { recordIndex: 0, studentId: e.studentId, code, message: expect.any(String) },
      ]);
      const msg: string = view.rejections[0].message;
      expect(msg.length).toBeGreaterThan(10);
      expect(msg).not.toMatch(/HS2|Harrison|First50|Last50/);
    }
    const list = await t.api('GET', '/v1/schools/HS1/rejections', { token: c.tokens.hs1 });
    expect(
      list.body.rejections.map((r: { eventId: string; code: string }) => [r.eventId, r.code]),
    ).toEqual([
      [noSection.eventId, 'unknown_section'],
      [theirs.eventId, 'unknown_student'],
    ]);
    // HS2 sees nothing of it.
    const hs2 = await t.api('GET', '/v1/schools/HS2/rejections', { token: c.tokens.hs2 });
    expect(hs2.body.rejections).toEqual([]);
    const spansRows = await t.db
      .selectFrom('roster_spans')
      .select('student_id')
      .where('student_id', 'in', [other, c.students.hs1[0]!])
      .execute();
    expect(spansRows).toEqual([]);
    const actions = await t.db
      .selectFrom('enrollment_actions')
      .select('student_id')
      .where('student_id', 'in', [other, c.students.hs1[0]!])
      .execute();
    expect(actions).toEqual([]);
  });
});

describe('the roster and the real-time report after apply', () => {
  let t: TestExchange;
  let c: County;
  beforeAll(async () => {
    ({ t, c } = await fresh());
  });

  async function sendApplied(token: string, e: { eventId: string }, status = 'applied') {
    await post(t, token, e);
    expect((await applied(t, e.eventId, token)).status).toBe(status);
  }

  it('roster: every span, or those open on asOf, with names', async () => {
    const kts = c.sections.ctcAuto;
    const [stay, gone] = [c.students.hs1[3]!, c.students.hs2[1]!];
    await sendApplied(c.tokens.hs1, enroll(stay, kts, { hsPeriods: [4] }));
    await sendApplied(c.tokens.hs2, enroll(gone, kts, { hsPeriods: [5, 6] }));
    await sendApplied(
      c.tokens.hs2,
      enroll(gone, kts, {
        action: 'drop',
        effectiveDate: '2027-01-12',
        occurredAt: '2027-01-11T15:00:00-05:00',
        hsPeriods: [],
      }),
    );
    const roster = async (q: string) => {
      const r = await t.api('GET', `/v1/tech-centers/CTC1/rosters/${YEAR}/${kts}${q}`, {
        token: c.tokens.ctc,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.students as Array<Record<string, unknown>>;
    };
    const stayRow = {
      studentId: stay,
      firstName: 'First3',
      lastName: 'Last3',
      gradeLevel: 11,
      homeSchoolId: 'HS1',
      hsPeriods: [4],
      startDate: '2027-01-04',
      endDate: null,
    };
    const goneRow = {
      studentId: gone,
      firstName: 'First501',
      lastName: 'Last501',
      gradeLevel: 11,
      homeSchoolId: 'HS2',
      hsPeriods: [5, 6],
      startDate: '2027-01-04',
      endDate: '2027-01-11',
    };
    const byId = (rows: Array<Record<string, unknown>>) =>
      [...rows].sort((a, b) => String(a.studentId).localeCompare(String(b.studentId)));
    expect(byId(await roster(''))).toEqual(byId([stayRow, goneRow]));
    expect(byId(await roster('?asOf=2027-01-11'))).toEqual(byId([stayRow, goneRow]));
    expect(await roster('?asOf=2027-01-12')).toEqual([stayRow]);
    expect(await roster('?asOf=2027-01-20')).toEqual([stayRow]);
    expect(await roster('?asOf=2027-01-03')).toEqual([]);
  });

  it('report: ordered by ktsCourseNumber then studentId, current state, present included, nulls', async () => {
    const [s0, s1, s2] = c.students.hs1 as [string, string, string];
    const other = c.students.hs2[4]!;
    const date = '2027-01-13';
    await sendApplied(c.tokens.hs1, enroll(s0, c.sections.atcNursing, { hsPeriods: [1] }));
    await sendApplied(c.tokens.hs1, enroll(s1, c.sections.atcNursing, { hsPeriods: [2] }));
    await sendApplied(c.tokens.hs1, enroll(s0, c.sections.atcWelding, { hsPeriods: [3] }));
    await sendApplied(c.tokens.hs1, enroll(s2, c.sections.atcWelding, { hsPeriods: [3, 4] }));
    await sendApplied(c.tokens.hs2, enroll(other, c.sections.atcWelding));

    // Welding sent first (so arrival order is not report order), then a later correction for s0.
    const wld = attendance(c.sections.atcWelding, date, [
      { studentId: s2, status: 'present' },
      { studentId: s0, status: 'absent', excuse: 'unknown' },
      { studentId: other, status: 'absent', excuse: 'unknown' },
    ]);
    const nur = attendance(c.sections.atcNursing, date, [
      { studentId: s1, status: 'tardy', excuse: 'excused', code: 'T1', minutesAbsent: 12 },
      { studentId: s0, status: 'present' },
    ]);
    const fix = attendance(
      c.sections.atcWelding,
      date,
      [{ studentId: s0, status: 'absent', excuse: 'excused', code: 'DR' }],
      { occurredAt: `${date}T11:00:00-05:00` },
    );
    for (const e of [wld, nur, fix]) await sendApplied(c.tokens.atc, e);

    const r = await t.api('GET', `/v1/high-schools/HS1/attendance?date=${date}`, {
      token: c.tokens.hs1,
    });
    expect(r.status).toBe(200);
    expect(r.body.date).toBe(date);
    const rows = r.body.rows as Array<Record<string, unknown>>;
    expect(rows.map((x) => [x.ktsCourseNumber, x.studentId])).toEqual([
      [c.sections.atcNursing, s0],
      [c.sections.atcNursing, s1],
      [c.sections.atcWelding, s0],
      [c.sections.atcWelding, s2],
    ]);
    const base = { techSchoolId: 'ATC1' };
    expect(rows[0]).toMatchObject({
      ...base,
      hsPeriods: [1],
      status: 'present',
      excuse: null,
      code: null,
      occurredAt: '2027-01-13T14:10:00.000Z',
    });
    expect(rows[1]).toMatchObject({
      ...base,
      hsPeriods: [2],
      status: 'tardy',
      excuse: 'excused',
      code: 'T1',
      occurredAt: '2027-01-13T14:10:00.000Z',
    });
    expect(rows[2]).toMatchObject({
      ...base,
      hsPeriods: [3],
      status: 'absent',
      excuse: 'excused',
      code: 'DR',
      occurredAt: '2027-01-13T16:00:00.000Z',
    });
    expect(rows[3]).toMatchObject({
      ...base,
      hsPeriods: [3, 4],
      status: 'present',
      excuse: null,
      code: null,
    });
    for (const row of rows) {
      for (const k of [
        'studentId',
        'techSchoolId',
        'ktsCourseNumber',
        'hsPeriods',
        'status',
        'excuse',
        'code',
        'occurredAt',
        'appliedAt',
      ])
        expect(row, k).toHaveProperty(k);
      expect(row.appliedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    // HS2's own report holds only its student.
    const r2 = await t.api('GET', `/v1/high-schools/HS2/attendance?date=${date}`, {
      token: c.tokens.hs2,
    });
    expect(r2.body.rows.map((x: { studentId: string }) => x.studentId)).toEqual([other]);
    // The stored state: one row per student, section and date.
    const stored = await t.db
      .selectFrom('attendance')
      .select(['kts_course_number', 'student_id', 'status'])
      .where('date', '=', date)
      .orderBy(sql`kts_course_number collate "C"`)
      .orderBy('student_id')
      .execute();
    expect(stored.map((x) => [x.kts_course_number, x.student_id, x.status])).toEqual([
      [c.sections.atcNursing, s0, 'present'],
      [c.sections.atcNursing, s1, 'tardy'],
      [c.sections.atcWelding, s0, 'absent'],
      [c.sections.atcWelding, s2, 'present'],
      [c.sections.atcWelding, other, 'absent'],
    ]);
  });
});

describe('both publish paths store the same row', () => {
  const hashOf = (raw: unknown) =>
    createHash('sha256')
      .update(canonicalBody(EventBody.parse(raw)))
      .digest('hex');

  async function atcActor(t: TestExchange): Promise<Actor> {
    const cred = await t.db
      .selectFrom('credentials')
      .select('id')
      .where('school_id', '=', 'ATC1')
      .executeTakeFirstOrThrow();
    return { kind: 'school', credentialId: cred.id, schoolId: 'ATC1', schoolKind: 'atc' };
  }
  const producerFor = async (t: TestExchange) =>
    createProducer(
      {
        config: t.config,
        db: t.db,
        clock: t.exchange.clock,
        log,
        enqueuer: t.exchange.enqueuer!,
      },
      await atcActor(t),
    );

  it('HTTP and the in-process producer: same eventId in two databases gives equal rows', async () => {
    const { t: a, c: ca } = await fresh({ KTS_ROLES: 'api' });
    const { t: b } = await fresh({ KTS_ROLES: 'api' });
    const viaHttp = attendance(
      ca.sections.atcWelding,
      '2027-01-19',
      [
        { studentId: ca.students.hs1[0], status: 'absent', excuse: 'unknown', code: 'X' },
        { studentId: ca.students.hs1[1], status: 'present' },
      ],
      { eventId: 'same-1', occurredAt: '2027-01-19T09:10:00-05:00' },
    );
    // The same logical event: keys in another order, the instant written in UTC.
    const viaProducer = {
      records: [
        { code: 'X', excuse: 'unknown', status: 'absent', studentId: ca.students.hs1[0] },
        { status: 'present', studentId: ca.students.hs1[1] },
      ],
      occurredAt: '2027-01-19T14:10:00.000Z',
      date: '2027-01-19',
      ktsCourseNumber: ca.sections.atcWelding,
      eventId: 'same-1',
      type: 'attendance-entered',
    } as EventInput;

    await post(a, ca.tokens.atc, viaHttp);
    const sent = await (await producerFor(b)).send(viaProducer);
    expect(sent).toEqual({ status: 202, body: { eventId: 'same-1', status: 'pending' } });

    const ra = await eventRow(a, 'ATC1', 'same-1');
    const rb = await eventRow(b, 'ATC1', 'same-1');
    expect(ra.credential_id).toBe((await atcActor(a)).credentialId);
    expect(rb.credential_id).toBe((await atcActor(b)).credentialId);
    const strip = (r: typeof ra) => {
      const { seq: _s, received_at: _r, credential_id: _c, ...rest } = r;
      return rest;
    };
    expect(strip(rb)).toEqual(strip(ra));
    expect(ra.body_hash).toBe(hashOf(viaHttp));
    expect(rb.body_hash).toBe(hashOf(viaProducer));
    expect(ra).toMatchObject({ type: 'attendance-entered', status: 'pending', record_count: 2 });

    // Within one database: the producer's copy under another eventId differs only in eventId.
    const second = await (await producerFor(a)).send({ ...viaProducer, eventId: 'same-2' });
    expect(second.status).toBe(202);
    const r2 = await eventRow(a, 'ATC1', 'same-2');
    expect(r2.type).toBe(ra.type);
    const { eventId: _e1, ...bodyA } = ra.body as Record<string, unknown>;
    const { eventId: _e2, ...body2 } = r2.body as Record<string, unknown>;
    expect(body2).toEqual(bodyA);
    expect(r2.body_hash).toBe(hashOf({ ...viaProducer, eventId: 'same-2' }));
    expect(r2.occurred_at.getTime()).toBe(ra.occurred_at.getTime());

    // The same eventId again through the producer is the duplicate the HTTP route answers 200 for.
    const dupe = await (await producerFor(a)).send(viaProducer);
    const http = await a.api('GET', '/v1/events/same-1', { token: ca.tokens.atc });
    expect(dupe).toEqual({ status: 200, body: http.body });
    const count = await a.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('event_id', 'in', ['same-1', 'same-2'])
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(2);
  });

  it('the in-process producer refuses a bad event with the same ApiError as HTTP', async () => {
    const { t, c } = await fresh({ KTS_ROLES: 'api' });
    const producer = await producerFor(t);
    const bad = {
      ...attendance(c.sections.atcWelding, '2027-01-19', [
        { studentId: c.students.hs1[0], status: 'absent' },
        { studentId: c.students.hs1[1], status: 'present', excuse: 'excused' },
      ]),
      colour: 'blue',
    };
    const forbiddenEvent = enroll(c.students.hs1[0]!, c.sections.atcWelding);
    for (const [raw, status] of [
      [bad, 400],
      [forbiddenEvent, 403],
    ] as const) {
      const http = await t.api('POST', '/v1/events', { token: c.tokens.atc, body: raw });
      expect(http.status).toBe(status);
      let caught: unknown;
      try {
        await producer.send(raw as unknown as EventInput);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ApiError);
      const err = caught as ApiError;
      expect(err.status).toBe(status);
      expect(err.toBody()).toEqual(http.body);
    }
    const http = await t.api('POST', '/v1/events', { token: c.tokens.atc, body: bad });
    expect(http.body.error.code).toBe('validation_failed');
    const paths = http.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['colour', 'records.0.excuse', 'records.1.excuse']);
    const stored = await t.db
      .selectFrom('events')
      .select('event_id')
      .where('event_id', 'in', [bad.eventId, forbiddenEvent.eventId])
      .execute();
    expect(stored).toEqual([]);
  });
});

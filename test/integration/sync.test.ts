import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { eventually, startTestExchange, testEnv, type TestExchange } from '../support/context.ts';
import {
  applied,
  attendance,
  enroll,
  nextEventId,
  NOW,
  seedCounty,
  steerableClock,
  syncedHistory,
  YEAR,
  type County,
} from '../support/county.ts';
import { spawnTsx } from '../support/processes.ts';
import type { Clock } from '../../shared/clock.ts';
import { createLogger } from '../../shared/logger.ts';
import { planManualRun, planScheduledRun, type SyncPlanDeps } from '../../shared/sync-plan.ts';
import { syncSchool } from '../../workers/sync-school.ts';
import {
  ErrorResponse,
  EventStatusResponse,
  HistoryResponse,
  SyncRunAccepted,
  SyncRunList,
  SyncRunResponse,
  UnknownsResponse,
} from '../../producers/http/responses.ts';

const log = createLogger('silent');
const NY = 'America/New_York';
const D = '2027-01-19'; // Tuesday, the day the main tests sync

type RunView = ReturnType<typeof SyncRunResponse.parse>;
type UnknownRow = ReturnType<typeof UnknownsResponse.parse>['rows'][number];

const opened: TestExchange[] = [];
afterAll(async () => {
  await Promise.all(opened.map((x) => x.close()));
});

async function world(opts: { clock?: Clock; env?: Record<string, string> } = {}) {
  const t = await startTestExchange({
    clock: opts.clock ?? steerableClock(NOW),
    env: { KTS_ROLES: 'api,workers', ...opts.env },
  });
  opened.push(t);
  const c = await seedCounty(t, { studentsPerSchool: 6 });
  return { t, c };
}

async function postApplied(t: TestExchange, token: string, body: { eventId: string }) {
  const r = await t.api('POST', '/v1/events', { token, body });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const view = EventStatusResponse.parse(await applied(t, body.eventId, token));
  expect(view.status, JSON.stringify(view.rejections)).toBe('applied');
}

async function enrollAll(
  t: TestExchange,
  token: string,
  students: string[],
  kts: string,
  hsPeriods = [1, 2, 3],
) {
  for (const s of students) await postApplied(t, token, enroll(s, kts, { hsPeriods }));
}

const coded = (
  studentId: string,
  date: string,
  period: number,
  excuse: 'excused' | 'unexcused' | 'exempt',
  code: string,
  occurredAt = `${date}T12:00:00-05:00`,
) => ({
  type: 'attendance-coded',
  eventId: nextEventId('cod'),
  occurredAt,
  studentId,
  date,
  period,
  excuse,
  code,
});

function expectError(r: { status: number; body: unknown }, status: number, code: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(ErrorResponse.parse(r.body).error.code).toBe(code);
}

async function getRun(t: TestExchange, runId: string): Promise<RunView> {
  const r = await t.api('GET', `/v1/admin/sync-runs/${runId}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return SyncRunResponse.parse(r.body);
}

async function settled(t: TestExchange, runId: string, timeoutMs = 20_000): Promise<RunView> {
  return eventually(async () => {
    const v = await getRun(t, runId);
    return v.status !== 'running' ? v : null;
  }, timeoutMs);
}

/** POST a run (202 { runId }) and wait until it is no longer running. */
async function runSync(t: TestExchange, body: Record<string, unknown>): Promise<RunView> {
  const r = await t.api('POST', '/v1/admin/sync-runs', { body });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const { runId } = SyncRunAccepted.parse(r.body);
  expect(Object.keys(r.body as object)).toEqual(['runId']);
  const v = await settled(t, runId);
  expect(v.runId).toBe(runId);
  return v;
}

async function hsRows(t: TestExchange, where: { school?: string; date?: string } = {}) {
  let q = t.db
    .selectFrom('hs_attendance')
    .select([
      'student_id',
      'date',
      'period',
      'home_school_id',
      'status',
      'excuse',
      'code',
      'source',
      'tech_school_id',
      'kts_course_number',
      'synced_at',
      'sync_run_id',
    ]);
  if (where.school) q = q.where('home_school_id', '=', where.school);
  if (where.date) q = q.where('date', '=', where.date);
  return q.orderBy('date').orderBy('student_id').orderBy('period').execute();
}

async function unknowns(t: TestExchange, school: string, query = '', token?: string) {
  const r = await t.api('GET', `/v1/high-schools/${school}/unknowns${query}`, { token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return UnknownsResponse.parse(r.body);
}

async function allUnknowns(t: TestExchange, school: string, query: string, limit: number) {
  const rows: UnknownRow[] = [];
  const pages: number[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const sep = query ? '&' : '?';
    const page = await unknowns(
      t,
      school,
      `${query}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    rows.push(...page.rows);
    pages.push(page.rows.length);
    if (!page.nextCursor) return { rows, pages };
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

const planDeps = (t: TestExchange): SyncPlanDeps => ({
  db: t.db,
  clock: t.exchange.clock,
  log,
  queue: t.exchange.enqueuer!.syncQueue,
});

const workerDeps = (t: TestExchange) => ({
  config: t.config,
  db: t.db,
  clock: t.exchange.clock,
  log,
});

const school = (r: RunView, highSchoolId: string): RunView['schools'][number] | undefined =>
  r.schools.find((s) => s.highSchoolId === highSchoolId);

// ---------------------------------------------------------------------------------------------
// The main county: "today" is Wednesday, January 20, 2027 (eastern). HS1 opted in, HS2 did not.

describe('the sync of one county through the HTTP API, with workers running', () => {
  const clock = steerableClock(NOW);
  let t: TestExchange;
  let c: County;
  let s: string[]; // HS1 students
  let h: string[]; // HS2 students
  let weld: string;
  let nurse: string;
  let firstRun: RunView;

  beforeAll(async () => {
    ({ t, c } = await world({ clock }));
    s = c.students.hs1;
    h = c.students.hs2;
    weld = c.sections.atcWelding;
    nurse = c.sections.atcNursing;
    const [s1, s2, s3, s4, s5, s6] = s as [string, string, string, string, string, string];
    await enrollAll(t, c.tokens.hs1, [s1, s2, s3, s4, s5], weld, [1, 2, 3]);
    await enrollAll(t, c.tokens.hs1, [s1, s6], nurse, [4, 5]);
    await enrollAll(t, c.tokens.hs2, [h[0]!], weld, [1, 2, 3]);

    // Tuesday 2027-01-19.
    await postApplied(
      t,
      c.tokens.atc,
      attendance(weld, D, [
        { studentId: s1, status: 'absent', excuse: 'unknown' },
        { studentId: s2, status: 'tardy', excuse: 'unknown', minutesAbsent: 12 },
        { studentId: s3, status: 'present' },
        { studentId: s4, status: 'absent', excuse: 'excused', code: 'DR' }, // already coded
        { studentId: s5, status: 'absent', excuse: 'unknown' },
        { studentId: h[0]!, status: 'absent', excuse: 'unknown' }, // HS2 did not opt in
      ]),
    );
    // The center codes s5 later in the day, before the sync: no longer unknown.
    await postApplied(
      t,
      c.tokens.atc,
      attendance(weld, D, [{ studentId: s5, status: 'absent', excuse: 'excused', code: 'FUN' }], {
        occurredAt: `${D}T14:00:00-05:00`,
      }),
    );
    await postApplied(
      t,
      c.tokens.atc,
      attendance(nurse, D, [
        { studentId: s1, status: 'early_release', excuse: 'unknown' },
        { studentId: s6, status: 'absent', excuse: 'unknown' },
      ]),
    );
    // The high school coded s6's period 4 itself before the sync.
    await postApplied(t, c.tokens.hs1, coded(s6, D, 4, 'excused', 'MED'));

    // Thursday 2027-01-14 (the scheduled night below) and Friday 2027-01-15 (the run with no date).
    await postApplied(
      t,
      c.tokens.atc,
      attendance(weld, '2027-01-14', [{ studentId: s1, status: 'absent', excuse: 'unknown' }]),
    );
    await postApplied(
      t,
      c.tokens.atc,
      attendance(nurse, '2027-01-14', [{ studentId: s6, status: 'tardy', excuse: 'unknown' }]),
    );
    await postApplied(
      t,
      c.tokens.atc,
      attendance(weld, '2027-01-15', [{ studentId: s2, status: 'absent', excuse: 'unknown' }]),
    );
  });

  it('POST /v1/admin/sync-runs {date} → 202 {runId}; the report counts one per period; the records are unknowns from the sync', async () => {
    const [s1, s2, , , , s6] = s as [string, string, string, string, string, string];
    firstRun = await runSync(t, { date: D });
    expect(firstRun).toMatchObject({ kind: 'manual', status: 'completed', date: D });
    expect(firstRun.schools).toEqual([
      {
        highSchoolId: 'HS1',
        date: D,
        status: 'completed',
        // s1 welding 3 + s2 welding 3 + s1 nursing 2 + s6 nursing 2; s6 period 4 was coded by HS1.
        candidates: 10,
        created: 9,
        alreadyPresent: 1,
        errors: 0,
        detail: null,
      },
    ]);

    const rows = await hsRows(t, { date: D });
    const synced = (studentId: string, period: number, status: string, kts: string) => ({
      student_id: studentId,
      date: D,
      period,
      home_school_id: 'HS1',
      status,
      excuse: 'unknown',
      code: null,
      source: 'sync',
      tech_school_id: 'ATC1',
      kts_course_number: kts,
      synced_at: expect.any(Date),
      sync_run_id: firstRun.runId,
    });
    const expected = [
      synced(s1, 1, 'absent', weld),
      synced(s1, 2, 'absent', weld),
      synced(s1, 3, 'absent', weld),
      synced(s1, 4, 'early_release', nurse),
      synced(s1, 5, 'early_release', nurse),
      synced(s2, 1, 'tardy', weld),
      synced(s2, 2, 'tardy', weld),
      synced(s2, 3, 'tardy', weld),
      {
        student_id: s6,
        date: D,
        period: 4,
        home_school_id: 'HS1',
        status: null,
        excuse: 'excused',
        code: 'MED',
        source: 'high_school',
        tech_school_id: null,
        kts_course_number: null,
        synced_at: null,
        sync_run_id: null,
      },
      synced(s6, 5, 'absent', nurse),
    ].sort((a, b) =>
      a.student_id === b.student_id
        ? a.period - b.period
        : a.student_id.localeCompare(b.student_id),
    );
    expect(rows).toEqual(expected);
  });

  it('the HS-coded record is kept (not overwritten), an entry the center coded later is not copied, present/coded entries are not copied', async () => {
    const [, , s3, s4, s5, s6] = s as [string, string, string, string, string, string];
    const kept = await hsRows(t, { date: D });
    const s6p4 = kept.find((r) => r.student_id === s6 && r.period === 4)!;
    expect(s6p4).toMatchObject({ excuse: 'excused', code: 'MED', source: 'high_school' });
    for (const id of [s3, s4, s5]) expect(kept.filter((r) => r.student_id === id)).toEqual([]);
  });

  it('a not-opted-in high school gets nothing; asking for it, an unknown school or a future date is 422', async () => {
    const hs2 = await t.db
      .selectFrom('hs_attendance')
      .selectAll()
      .where((eb) =>
        eb.or([eb('home_school_id', '=', 'HS2'), eb('student_id', 'in', c.students.hs2)]),
      )
      .execute();
    expect(hs2).toEqual([]);
    const before = await t.db.selectFrom('sync_runs').select('id').execute();
    expectError(
      await t.api('POST', '/v1/admin/sync-runs', { body: { date: D, highSchoolId: 'HS2' } }),
      422,
      'unprocessable',
    );
    expectError(
      await t.api('POST', '/v1/admin/sync-runs', { body: { date: D, highSchoolId: 'ATC1' } }),
      422,
      'unprocessable',
    );
    // Thursday, January 21 is tomorrow in Kentucky.
    expectError(
      await t.api('POST', '/v1/admin/sync-runs', { body: { date: '2027-01-21' } }),
      422,
      'unprocessable',
    );
    expectError(
      await t.api('POST', '/v1/admin/sync-runs', {
        body: { date: '2027-01-21', highSchoolId: 'HS1' },
      }),
      422,
      'unprocessable',
    );
    // Only the state office runs it.
    expectError(
      await t.api('POST', '/v1/admin/sync-runs', { token: c.tokens.hs1, body: { date: D } }),
      403,
      'forbidden',
    );
    expect(await t.db.selectFrom('sync_runs').select('id').execute()).toEqual(before);
  });

  it('a re-run of the same date creates nothing: created 0, alreadyPresent = candidates, no duplicate rows', async () => {
    const before = await hsRows(t, { date: D });
    const again = await runSync(t, { date: D, highSchoolId: 'HS1' });
    expect(again.runId).not.toBe(firstRun.runId);
    expect(again.status).toBe('completed');
    expect(again.schools).toEqual([
      {
        highSchoolId: 'HS1',
        date: D,
        status: 'completed',
        candidates: 10,
        created: 0,
        alreadyPresent: 10,
        errors: 0,
        detail: null,
      },
    ]);
    expect(await hsRows(t, { date: D })).toEqual(before);
    const runs = SyncRunList.parse((await t.api('GET', `/v1/admin/sync-runs?date=${D}`)).body);
    expect(runs.runs.map((r) => r.runId)).toEqual([again.runId, firstRun.runId]);
  });

  it('scheduled runs are once per (school, date): the same fire time twice and a second instant of the same night → one run, one set of records', async () => {
    const [s1, , , , , s6] = s as [string, string, string, string, string, string];
    // 01:30 EST on Friday January 15 covers Thursday the 14th; 02:45 EST is the same local night.
    const plans = await Promise.all([
      planScheduledRun(planDeps(t), NY, new Date('2027-01-15T06:30:00Z')),
      planScheduledRun(planDeps(t), NY, new Date('2027-01-15T06:30:00Z')),
      planScheduledRun(planDeps(t), NY, new Date('2027-01-15T07:45:00Z')),
    ]);
    const runId = plans[0]!.runId;
    expect(plans.map((p) => p.runId)).toEqual([runId, runId, runId]);
    const v = await settled(t, runId);
    expect(v).toMatchObject({ kind: 'scheduled', status: 'completed', date: '2027-01-14' });
    expect(v.schools).toEqual([
      {
        highSchoolId: 'HS1',
        date: '2027-01-14',
        status: 'completed',
        candidates: 5,
        created: 5,
        alreadyPresent: 0,
        errors: 0,
        detail: null,
      },
    ]);
    // Again after it finished: still the same run, nothing new.
    const later = await planScheduledRun(planDeps(t), NY, new Date('2027-01-15T08:00:00Z'));
    expect(later.runId).toBe(runId);
    expect(later.schools).toBe(0);

    const keyed = await t.db
      .selectFrom('sync_runs')
      .select(['id', 'schedule_key'])
      .where('kind', '=', 'scheduled')
      .execute();
    expect(keyed).toEqual([{ id: runId, schedule_key: `${NY}@2027-01-15` }]);
    expect(
      await t.db.selectFrom('sync_nights').selectAll().where('date', '=', '2027-01-14').execute(),
    ).toEqual([{ high_school_id: 'HS1', date: '2027-01-14', run_id: runId }]);
    const rows = await hsRows(t, { date: '2027-01-14' });
    expect(rows.map((r) => [r.student_id, r.period, r.status, r.sync_run_id])).toEqual(
      [
        [s1, 1, 'absent', runId],
        [s1, 2, 'absent', runId],
        [s1, 3, 'absent', runId],
        [s6, 4, 'tardy', runId],
        [s6, 5, 'tardy', runId],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0])) || Number(a[1]) - Number(b[1])),
    );
    // The child jobs: one per (run, school), whatever the number of plans.
    const jobs = await t.exchange.enqueuer!.syncQueue.getJobs(['completed', 'active', 'waiting']);
    expect(jobs.filter((j) => j.data.runId === runId).map((j) => j.id)).toEqual([
      `sync-${runId}-HS1`,
    ]);
  });

  it('both 01:30s of November 7 (EDT and EST) plan the same scheduled run', async () => {
    const [a, b] = await Promise.all([
      planScheduledRun(planDeps(t), NY, new Date('2027-11-07T05:30:00Z')),
      planScheduledRun(planDeps(t), NY, new Date('2027-11-07T06:30:00Z')),
    ]);
    expect(b.runId).toBe(a.runId);
    const v = await settled(t, a.runId);
    // Saturday November 6, 2027 is no school day (and no 2027-2028 calendar exists): skipped.
    expect(v.schools.map((x) => [x.highSchoolId, x.date, x.status])).toEqual([
      ['HS1', '2027-11-06', 'skipped'],
    ]);
    expect(
      await t.db
        .selectFrom('sync_runs')
        .select('id')
        .where('schedule_key', '=', `${NY}@2027-11-07`)
        .execute(),
    ).toEqual([{ id: a.runId }]);
  });

  it('the scheduled night after a holiday (01:30 EST Tuesday covers Monday 01-18, off) skips the school and creates nothing', async () => {
    const { runId } = await planScheduledRun(planDeps(t), NY, new Date('2027-01-19T06:30:00Z'));
    const v = await settled(t, runId);
    expect(v.status).toBe('completed');
    expect(v.schools).toEqual([
      {
        highSchoolId: 'HS1',
        date: '2027-01-18',
        status: 'skipped',
        candidates: 0,
        created: 0,
        alreadyPresent: 0,
        errors: 0,
        detail: expect.stringContaining('not an instructional day'),
      },
    ]);
    expect(await hsRows(t, { date: '2027-01-18' })).toEqual([]);
    expect(
      await t.db.selectFrom('sync_nights').selectAll().where('date', '=', '2027-01-18').execute(),
    ).toEqual([]);
  });

  it('with no date, a run on Tuesday 2027-01-19 (Monday was off) covers Friday 2027-01-15', async () => {
    const [, s2] = s as [string, string];
    clock.set('2027-01-19T15:00:00Z');
    try {
      const v = await runSync(t, {});
      expect(v).toMatchObject({ status: 'completed', date: '2027-01-15' });
      expect(v.schools).toEqual([
        {
          highSchoolId: 'HS1',
          date: '2027-01-15',
          status: 'completed',
          candidates: 3,
          created: 3,
          alreadyPresent: 0,
          errors: 0,
          detail: null,
        },
      ]);
    } finally {
      clock.set(NOW);
    }
    const rows = await hsRows(t, { date: '2027-01-15' });
    expect(rows.map((r) => [r.student_id, r.period, r.status, r.source])).toEqual([
      [s2, 1, 'absent', 'sync'],
      [s2, 2, 'absent', 'sync'],
      [s2, 3, 'absent', 'sync'],
    ]);
  });

  it('the worklist: oldest first, which center recorded each entry, from/to, pagination', async () => {
    const all = await unknowns(t, 'HS1');
    expect(all.nextCursor).toBeNull();
    const db = (await hsRows(t, { school: 'HS1' })).filter((r) => r.source === 'sync');
    expect(db).toHaveLength(5 + 3 + 9);
    expect(all.rows).toEqual(
      db.map((r) => ({
        studentId: r.student_id,
        date: r.date,
        period: r.period,
        status: r.status,
        techSchoolId: 'ATC1',
        ktsCourseNumber: r.kts_course_number,
        syncedAt: r.synced_at!.toISOString(),
        resolved: false,
        excuse: 'unknown',
        code: null,
        techExcuse: null,
      })),
    );
    // Oldest first: by date, then student, then period.
    const keys = all.rows.map((r) => `${r.date}|${r.studentId}|${String(r.period).padStart(2)}`);
    expect(keys).toEqual([...keys].sort());
    expect(all.rows[0]!.date).toBe('2027-01-14');
    expect(all.rows.at(-1)!.date).toBe(D);
    // The high school reads its own worklist too; another school may not.
    expect((await unknowns(t, 'HS1', '', c.tokens.hs1)).rows).toEqual(all.rows);
    const other = await t.api('GET', '/v1/high-schools/HS1/unknowns', { token: c.tokens.hs2 });
    expect(other.status).toBe(403);

    const on = (q: string) => unknowns(t, 'HS1', q).then((r) => r.rows.map((x) => x.date));
    expect(await on('?from=2027-01-15&to=2027-01-15')).toEqual(Array(3).fill('2027-01-15'));
    expect(await on('?to=2027-01-14')).toEqual(Array(5).fill('2027-01-14'));
    expect(await on('?from=2027-01-15')).toEqual([
      ...Array(3).fill('2027-01-15'),
      ...Array(9).fill(D),
    ]);
    expect(await on('?from=2027-01-16&to=2027-01-18')).toEqual([]);

    const paged = await allUnknowns(t, 'HS1', '', 5);
    expect(paged.pages).toEqual([5, 5, 5, 2]);
    expect(paged.rows).toEqual(all.rows);
    const pagedRange = await allUnknowns(t, 'HS1', '?from=2027-01-15', 4);
    expect(pagedRange.pages).toEqual([4, 4, 4]);
    expect(pagedRange.rows).toEqual(all.rows.filter((r) => r.date >= '2027-01-15'));
  });

  it('history: the synced records appear as unknown/synced; attendance-coded afterwards resolves one, and the worklist shows it resolved', async () => {
    const [s1, s2] = s as [string, string];
    const hist = async (id: string) => {
      const r = await t.api('GET', `/v1/students/${id}/history?limit=1000`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return HistoryResponse.parse(r.body).entries;
    };
    const synced = (await hist(s1)).filter((e) => e.record === 'unknown' && e.action === 'synced');
    // 01-14: welding periods 1-3; 01-19: welding 1-3 and nursing 4-5. Re-runs added none.
    expect(
      synced.map((e) => {
        const a = e.after as { date: string; period: number };
        return [a.date, a.period];
      }),
    ).toEqual(
      expect.arrayContaining([
        ['2027-01-14', 1],
        ['2027-01-14', 2],
        ['2027-01-14', 3],
        [D, 1],
        [D, 2],
        [D, 3],
        [D, 4],
        [D, 5],
      ]),
    );
    expect(synced).toHaveLength(8);
    const p1 = synced.find((e) => {
      const a = e.after as { date: string; period: number };
      return a.date === D && a.period === 1;
    })!;
    expect(p1.actor).toEqual({ schoolId: null, credentialId: null, job: 'nightly-sync' });
    expect(p1.eventId).toBeNull();
    expect(p1.before).toBeNull();
    expect(p1.after).toEqual({
      date: D,
      period: 1,
      status: 'absent',
      excuse: 'unknown',
      techSchoolId: 'ATC1',
      ktsCourseNumber: weld,
      runId: firstRun.runId,
    });

    // The office codes s1's period 1 of the 19th.
    const e = coded(s1, D, 1, 'unexcused', 'TRU', '2027-01-20T08:05:00-05:00');
    await postApplied(t, c.tokens.hs1, e);
    const resolved = (await hist(s1)).filter(
      (x) => x.record === 'unknown' && x.action === 'resolved',
    );
    expect(resolved).toHaveLength(1);
    expect(resolved[0]).toMatchObject({
      eventId: e.eventId,
      actor: { schoolId: 'HS1' },
      before: { date: D, period: 1, excuse: 'unknown', code: null },
      after: { date: D, period: 1, excuse: 'unexcused', code: 'TRU' },
    });

    // The center codes s2's welding entry of the 19th after the sync: the worklist shows it.
    await postApplied(
      t,
      c.tokens.atc,
      attendance(weld, D, [{ studentId: s2, status: 'tardy', excuse: 'excused', code: 'BUS' }], {
        occurredAt: '2027-01-20T07:30:00-05:00',
      }),
    );

    const yes = await unknowns(t, 'HS1', '?resolved=true');
    expect(yes.rows).toEqual([
      expect.objectContaining({
        studentId: s1,
        date: D,
        period: 1,
        status: 'absent',
        techSchoolId: 'ATC1',
        ktsCourseNumber: weld,
        resolved: true,
        excuse: 'unexcused',
        code: 'TRU',
        techExcuse: null,
      }),
    ]);
    const no = await unknowns(t, 'HS1', '?resolved=false');
    expect(no.rows).toHaveLength(16);
    expect(no.rows.every((r) => !r.resolved && r.excuse === 'unknown')).toBe(true);
    expect(no.rows.some((r) => r.studentId === s1 && r.date === D && r.period === 1)).toBe(false);
    const s2OnD = no.rows.filter((r) => r.studentId === s2 && r.date === D);
    expect(s2OnD.map((r) => [r.period, r.techExcuse, r.excuse])).toEqual([
      [1, 'excused', 'unknown'],
      [2, 'excused', 'unknown'],
      [3, 'excused', 'unknown'],
    ]);
    // The resolved filter combines with the range.
    expect((await unknowns(t, 'HS1', '?resolved=true&to=2027-01-15')).rows).toEqual([]);
  });

  it('a high school that turned the sync off gets nothing from then on', async () => {
    const [, , s3] = s as [string, string, string];
    // A run planned while HS1 was still opted in, applied after it turned the sync off.
    const pending = await planManualRun(
      { ...planDeps(t), queue: null },
      { date: '2027-01-20', highSchoolId: 'HS1', by: 'test' },
      { enqueue: false },
    );
    await postApplied(
      t,
      c.tokens.atc,
      attendance(weld, '2027-01-20', [{ studentId: s3, status: 'absent', excuse: 'unknown' }]),
    );
    const off = await t.api('PUT', '/v1/schools/HS1', {
      body: {
        name: 'Bourbon County High',
        kind: 'high_school',
        districtId: 'D-017',
        timezone: NY,
        attendanceSync: false,
      },
    });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    const before = await hsRows(t, { school: 'HS1' });

    expect(
      await syncSchool(workerDeps(t), { runId: pending, highSchoolId: 'HS1', date: '2027-01-20' }),
    ).toBe('skipped');
    expect((await getRun(t, pending)).schools).toEqual([
      expect.objectContaining({ highSchoolId: 'HS1', status: 'skipped', created: 0 }),
    ]);
    expectError(
      await t.api('POST', '/v1/admin/sync-runs', {
        body: { date: '2027-01-20', highSchoolId: 'HS1' },
      }),
      422,
      'unprocessable',
    );
    const all = await runSync(t, { date: '2027-01-20' });
    expect(all.schools).toEqual([]);
    const night = await planScheduledRun(planDeps(t), NY, new Date('2027-01-21T06:30:00Z'));
    expect(night.schools).toBe(0);
    expect((await settled(t, night.runId)).schools).toEqual([]);
    expect(await hsRows(t, { school: 'HS1' })).toEqual(before);
    expect(await hsRows(t, { date: '2027-01-20' })).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('a failing school next to a succeeding one', () => {
  it('HS3 fails for real (a trigger raises), HS1 completes: completed_with_errors, and HS1 has its records', async () => {
    const { t, c } = await world();
    const put = await t.api('PUT', '/v1/schools/HS3', {
      body: {
        name: 'Nicholas County High',
        kind: 'high_school',
        districtId: 'D-017',
        timezone: NY,
        attendanceSync: true,
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const cal = await t.api('PUT', `/v1/schools/HS3/calendars/${YEAR}`, {
      body: {
        firstDay: '2026-08-12',
        lastDay: '2027-05-28',
        nonInstructionalDays: ['2027-01-18'],
        periods: [{ period: 1, start: '08:00', end: '08:55' }],
      },
    });
    expect(cal.status).toBe(200);
    const h3 = '1000000901';
    const st = await t.api('PUT', `/v1/students/${h3}`, {
      body: { homeSchoolId: 'HS3', firstName: 'Nic', lastName: 'Olas', gradeLevel: 10 },
    });
    expect(st.status, JSON.stringify(st.body)).toBe(200);
    const cred = await t.api('POST', '/v1/credentials', { body: { schoolId: 'HS3' } });
    expect(cred.status).toBe(201);
    const hs3 = String(cred.body.token);
    const [s1] = c.students.hs1 as [string];
    const weld = c.sections.atcWelding;
    await enrollAll(t, c.tokens.hs1, [s1], weld);
    await enrollAll(t, hs3, [h3], weld, [2, 3]);
    await postApplied(
      t,
      c.tokens.atc,
      attendance(weld, D, [
        { studentId: s1, status: 'absent', excuse: 'unknown' },
        { studentId: h3, status: 'absent', excuse: 'unknown' },
      ]),
    );
    await sql`create function kts_test_fail_hs3() returns trigger language plpgsql as $$
      begin
        if new.home_school_id = 'HS3' then raise exception 'HS3 records refused by the test'; end if;
        return new;
      end $$`.execute(t.db);
    await sql`create trigger kts_test_fail_hs3 before insert on hs_attendance
      for each row execute function kts_test_fail_hs3()`.execute(t.db);

    const v = await runSync(t, { date: D });
    expect(v.status).toBe('completed_with_errors');
    expect(v.schools.map((x) => [x.highSchoolId, x.status])).toEqual([
      ['HS1', 'completed'],
      ['HS3', 'failed'],
    ]);
    expect(school(v, 'HS1')).toMatchObject({ candidates: 3, created: 3, alreadyPresent: 0 });
    expect(school(v, 'HS3')!.detail).toMatch(/failed after 1 attempt/);
    const rows = await hsRows(t);
    expect(rows.map((r) => [r.home_school_id, r.student_id, r.period, r.source])).toEqual([
      ['HS1', s1, 1, 'sync'],
      ['HS1', s1, 2, 'sync'],
      ['HS1', s1, 3, 'sync'],
    ]);
    // The failed school's job failed for good on its own; HS1's completed.
    const jobs = await t.exchange.enqueuer!.syncQueue.getJobs(['failed', 'completed']);
    const byId = Object.fromEntries(
      await Promise.all(
        jobs
          .filter((j) => j.data.runId === v.runId)
          .map(async (j) => [j.id, await j.getState()] as const),
      ),
    );
    expect(byId).toEqual({
      [`sync-${v.runId}-HS1`]: 'completed',
      [`sync-${v.runId}-HS3`]: 'failed',
    });
  });
});

describe('the safety hold', () => {
  it('KTS_SYNC_HOLD_MIN=2: a night creating 3 is held, nothing created; release → 202, then the records exist; a second release → 409', async () => {
    const { t, c } = await world({ env: { KTS_SYNC_HOLD_MIN: '2' } });
    const [s1, s2] = c.students.hs1 as [string, string];
    const weld = c.sections.atcWelding;
    await enrollAll(t, c.tokens.hs1, [s1, s2], weld);
    await postApplied(
      t,
      c.tokens.atc,
      attendance(weld, D, [
        { studentId: s1, status: 'absent', excuse: 'unknown' },
        { studentId: s2, status: 'present' },
      ]),
    );
    const held = await runSync(t, { date: D });
    expect(held.status).toBe('held');
    expect(held.schools).toEqual([
      {
        highSchoolId: 'HS1',
        date: D,
        status: 'held',
        candidates: 3,
        created: 0,
        alreadyPresent: 0,
        errors: 0,
        detail: expect.stringContaining('held'),
      },
    ]);
    expect(await hsRows(t)).toEqual([]);

    const rel = await t.api('POST', `/v1/admin/sync-runs/${held.runId}/release`);
    expect(rel.status, JSON.stringify(rel.body)).toBe(202);
    const after = await settled(t, held.runId);
    expect(after.status).toBe('completed');
    expect(after.schools).toEqual([
      {
        highSchoolId: 'HS1',
        date: D,
        status: 'completed',
        candidates: 3,
        created: 3,
        alreadyPresent: 0,
        errors: 0,
        detail: null,
      },
    ]);
    const rows = await hsRows(t);
    expect(rows.map((r) => [r.student_id, r.period, r.excuse, r.source, r.sync_run_id])).toEqual([
      [s1, 1, 'unknown', 'sync', held.runId],
      [s1, 2, 'unknown', 'sync', held.runId],
      [s1, 3, 'unknown', 'sync', held.runId],
    ]);
    expectError(await t.api('POST', `/v1/admin/sync-runs/${held.runId}/release`), 409, 'conflict');
    expectError(
      await t.api('POST', `/v1/admin/sync-runs/${held.runId}/release`, { token: c.tokens.hs1 }),
      403,
      'forbidden',
    );
  });
});

describe('the backfill CLI', () => {
  function cli(t: TestExchange, args: string[]) {
    const env = testEnv(t.config.DATABASE_URL, t.prefix, { KTS_NOW: NOW });
    const child = spawnTsx('infra/sync.ts', env, { args });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`sync CLI did not exit: ${stderr}`));
        }, 30_000);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      },
    );
  }

  it('npm run sync -- --date 2027-01-19 --school HS1: exit 0, prints the report, rows created once (twice: no duplicates)', async () => {
    const { t, c } = await world();
    const [s1, s2] = c.students.hs1 as [string, string];
    const weld = c.sections.atcWelding;
    await enrollAll(t, c.tokens.hs1, [s1, s2], weld);
    await postApplied(
      t,
      c.tokens.atc,
      attendance(weld, D, [
        { studentId: s1, status: 'absent', excuse: 'unknown' },
        { studentId: s2, status: 'tardy', excuse: 'unknown' },
      ]),
    );
    const first = await cli(t, ['--date', D, '--school', 'HS1']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^run [0-9a-f-]{36}: completed\n/);
    expect(first.stdout).toMatch(
      /HS1\s+2027-01-19\s+completed\s+candidates 6, created 6, already present 0, errors 0/,
    );
    const rows = await hsRows(t);
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.source === 'sync' && r.excuse === 'unknown')).toBe(true);

    const second = await cli(t, ['--date', D, '--school', 'HS1']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(
      /HS1\s+2027-01-19\s+completed\s+candidates 6, created 0, already present 6, errors 0/,
    );
    expect(await hsRows(t)).toEqual(rows);
    const history = await syncedHistory(t);
    expect(history).toHaveLength(6);
    // Two runs in the report list, both from the CLI.
    const runs = await t.db.selectFrom('sync_runs').select(['kind', 'requested_by']).execute();
    expect(runs).toEqual([
      { kind: 'manual', requested_by: 'cli' },
      { kind: 'manual', requested_by: 'cli' },
    ]);

    // A future date and a school that did not opt in: exit 1 with the reason.
    const future = await cli(t, ['--date', '2027-01-21']);
    expect(future.code).toBe(1);
    expect(future.stderr).toMatch(/future/);
    const hs2 = await cli(t, ['--date', D, '--school', 'HS2']);
    expect(hs2.code).toBe(1);
    expect(hs2.stderr).toMatch(/not opted into the attendance sync/);
  });
});

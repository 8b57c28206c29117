import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  createTestDatabase,
  deleteRedisPrefix,
  eventually,
  startTestExchange,
  testEnv,
  type TestExchange,
} from '../support/context.ts';
import {
  applied,
  attendance,
  enroll,
  NOW,
  seedCounty,
  syncedHistory,
  YEAR,
} from '../support/county.ts';
import { createClock } from '../../shared/clock.ts';
import { schedulerId, syncQueue } from '../../shared/queues/sync.ts';
import { killAndWait, running, spawnTsx } from '../support/processes.ts';

const NY = 'America/New_York';
const CHI = 'America/Chicago';
const D = '2027-01-19'; // Tuesday: the night after it is the one driven here
/** The wall clock the scheduler processes run on: Tuesday 2027-01-19, 10:00 EST (see `spawnKts`). */
const SCHEDULER_NOW = '2027-01-19T15:00:00.000Z';
const NEXT: Record<string, number> = {
  [NY]: Date.parse('2027-01-20T06:30:00Z'), // 01:30 EST Wednesday
  [CHI]: Date.parse('2027-01-20T07:30:00Z'), // 01:30 CST Wednesday
};
const FOLLOWING: Record<string, number> = {
  [NY]: Date.parse('2027-01-21T06:30:00Z'),
  [CHI]: Date.parse('2027-01-21T07:30:00Z'),
};

/**
 * Only Date.now is moved (by a constant offset), so BullMQ computes "the next 01:30" from the
 * same instant in every run of this test; timers, ioredis and Redis are untouched and real.
 */
const shiftDateNow = (offsetMs: number) =>
  `data:text/javascript,const n=Date.now;Date.now=()=>n()+${Math.round(offsetMs)};`;
/** The offset that makes the shifted clock read `at` now (every process given it shares one clock). */
const offsetTo = (at: string) => Date.parse(at) - Date.now();

interface Proc {
  child: ChildProcess;
  stdout: string;
  stderr: string;
}

const procs: Proc[] = [];
let database: { url: string; drop: () => Promise<void> };
let t: TestExchange;
const newPrefix = () => `kts-test-fsched-${randomBytes(4).toString('hex')}`;
const prefix = newPrefix();
const prefix2 = newPrefix();
let redis: Redis;
let queue: Queue;
const students = { hs1: [] as string[], hsc: '1000000801' };

function spawnKts(env: Record<string, string>, offsetMs?: number, queuePrefix = prefix): Proc {
  const child = spawnTsx(
    'infra/main.ts',
    testEnv(database.url, queuePrefix, { LOG_LEVEL: 'info', PORT: '0', ...env }),
    { imports: offsetMs !== undefined ? [shiftDateNow(offsetMs)] : [] },
  );
  const p: Proc = { child, stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => {
    p.stdout += d.toString();
    if (p.stdout.length > 200_000) p.stdout = p.stdout.slice(-200_000);
  });
  child.stderr!.on('data', (d: Buffer) => (p.stderr += d.toString()));
  procs.push(p);
  return p;
}

async function kill(p: Proc, signal: NodeJS.Signals = 'SIGKILL') {
  await killAndWait(p.child, signal, 15_000);
}

const logLines = (p: Proc) =>
  p.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; zones?: string[] });

async function postApplied(token: string, body: { eventId: string }) {
  const r = await t.api('POST', '/v1/events', { token, body });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  expect((await applied(t, body.eventId, token)).status).toBe('applied');
}

beforeAll(async () => {
  database = await createTestDatabase();
  // Seeded through an in-process exchange on ITS OWN prefix (its workers apply the events); the
  // processes under test use `prefix`.
  t = await startTestExchange({
    clock: createClock(NOW),
    env: { KTS_ROLES: 'api,workers' },
    database,
  });
  const c = await seedCounty(t, { studentsPerSchool: 2 });
  students.hs1 = c.students.hs1;
  // A second zone in use: a Chicago high school that opted in.
  for (const [path, body] of [
    [
      '/v1/schools/HSC',
      {
        name: 'Fulton County High',
        kind: 'high_school',
        districtId: 'D-038',
        timezone: CHI,
        attendanceSync: true,
      },
    ],
    [
      `/v1/schools/HSC/calendars/${YEAR}`,
      {
        firstDay: '2026-08-12',
        lastDay: '2027-05-28',
        nonInstructionalDays: ['2027-01-18'],
        periods: [{ period: 1, start: '08:00', end: '08:55' }],
      },
    ],
    [
      `/v1/students/${students.hsc}`,
      { homeSchoolId: 'HSC', firstName: 'Ful', lastName: 'Ton', gradeLevel: 12 },
    ],
  ] as const) {
    const r = await t.api('PUT', path, { body });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }
  const cred = await t.api('POST', '/v1/credentials', { body: { schoolId: 'HSC' } });
  expect(cred.status).toBe(201);
  const weld = c.sections.atcWelding;
  for (const s of students.hs1) await postApplied(c.tokens.hs1, enroll(s, weld));
  await postApplied(String(cred.body.token), enroll(students.hsc, weld, { hsPeriods: [1, 2] }));
  await postApplied(
    c.tokens.atc,
    attendance(weld, D, [
      { studentId: students.hs1[0]!, status: 'absent', excuse: 'unknown' },
      { studentId: students.hs1[1]!, status: 'tardy', excuse: 'unknown' },
      { studentId: students.hsc, status: 'absent', excuse: 'unknown' },
    ]),
  );

  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  queue = new Queue(syncQueue.name, { connection: redis, prefix });
}, 60_000);

afterAll(async () => {
  for (const p of procs) await kill(p).catch(() => undefined);
  await queue?.close();
  redis?.disconnect();
  await deleteRedisPrefix(prefix);
  await deleteRedisPrefix(prefix2);
  await t?.close();
  await database?.drop();
});

async function expectOneSchedulerAndOneDelayedJobPerZone(next: Record<string, number>) {
  const schedulers = (await queue.getJobSchedulers()).sort((a, b) => a.key.localeCompare(b.key));
  expect(schedulers.map((s) => [s.key, s.tz, s.pattern, s.next])).toEqual([
    [schedulerId(CHI), CHI, '0 30 1 * * *', next[CHI]],
    [schedulerId(NY), NY, '0 30 1 * * *', next[NY]],
  ]);
  const delayed = (await queue.getDelayed()).map((j) => String(j.id)).sort();
  expect(delayed).toEqual(
    [`repeat:${schedulerId(CHI)}:${next[CHI]}`, `repeat:${schedulerId(NY)}:${next[NY]}`].sort(),
  );
  expect(await queue.getJobCountByTypes('wait', 'active', 'prioritized')).toBe(0);
}

describe('three scheduler processes started at once, several times', () => {
  it('each round leaves one job scheduler and one delayed nightly job per zone in use', async () => {
    for (let round = 1; round <= 3; round++) {
      const offset = offsetTo(SCHEDULER_NOW);
      const three = [0, 1, 2].map(() =>
        spawnKts({ KTS_ROLES: 'scheduler', KTS_SCHEDULER_REFRESH_MS: '1000' }, offset),
      );
      // Each process reconciled at least once (it logs the zones it put in place) ...
      await eventually(
        async () =>
          three.every((p) => {
            if (!running(p.child))
              throw new Error(`scheduler ${p.child.pid} exited: ${p.stderr}${p.stdout}`);
            return logLines(p).some((l) => l.msg === 'nightly sync schedulers in place');
          }),
        30_000,
        100,
      );
      for (const p of three) {
        const line = logLines(p).find((l) => l.msg === 'nightly sync schedulers in place')!;
        expect([...line.zones!].sort()).toEqual([CHI, NY]);
      }
      // ... and a little more: the 1 s refresh makes all three upsert again, concurrently.
      await new Promise((r) => setTimeout(r, 1_500));
      await Promise.all(three.map((p) => kill(p)));
      await expectOneSchedulerAndOneDelayedJobPerZone(NEXT);
    }
  });

  it('one night: the delayed jobs run (and fire again, twice) → one sync run per zone and night, one set of records', async () => {
    const delayed = await queue.getDelayed();
    expect(delayed).toHaveLength(2);
    for (const j of delayed) {
      expect(j.name).toBe(syncQueue.jobs.nightly);
      expect((j.opts as { prevMillis?: number }).prevMillis).toBe(NEXT[j.data.timezone as string]);
      await j.promote();
    }
    expect(await queue.getWaitingCount()).toBe(2);

    const worker = spawnKts({ KTS_ROLES: 'workers', KTS_NOW: '2027-01-20T06:31:00Z' });
    const runs = async () =>
      t.db
        .selectFrom('sync_runs as r')
        .innerJoin('sync_run_schools as s', 's.run_id', 'r.id')
        .select([
          'r.id',
          'r.kind',
          'r.schedule_key',
          's.high_school_id',
          's.date',
          's.status',
          's.candidates',
          's.created',
          's.already_present',
          's.errors',
        ])
        .orderBy('r.schedule_key')
        .execute();
    await eventually(
      async () => {
        if (!running(worker.child)) throw new Error(`worker exited: ${worker.stderr}`);
        const r = await runs();
        return r.length === 2 && r.every((x) => x.status === 'completed');
      },
      30_000,
      100,
    );
    const first = await runs();
    expect(first.map(({ id: _id, ...x }) => x)).toEqual([
      {
        kind: 'scheduled',
        schedule_key: `${CHI}@2027-01-20`,
        high_school_id: 'HSC',
        date: D,
        status: 'completed',
        candidates: 2,
        created: 2,
        already_present: 0,
        errors: 0,
      },
      {
        kind: 'scheduled',
        schedule_key: `${NY}@2027-01-20`,
        high_school_id: 'HS1',
        date: D,
        status: 'completed',
        candidates: 6,
        created: 6,
        already_present: 0,
        errors: 0,
      },
    ]);
    const records = async () =>
      t.db
        .selectFrom('hs_attendance')
        .select(['home_school_id', 'student_id', 'date', 'period', 'source', 'sync_run_id'])
        .orderBy('home_school_id')
        .orderBy('student_id')
        .orderBy('period')
        .execute();
    const once = await records();
    expect(once.map((r) => [r.home_school_id, r.student_id, r.period, r.date])).toEqual([
      ['HS1', students.hs1[0], 1, D],
      ['HS1', students.hs1[0], 2, D],
      ['HS1', students.hs1[0], 3, D],
      ['HS1', students.hs1[1], 1, D],
      ['HS1', students.hs1[1], 2, D],
      ['HS1', students.hs1[1], 3, D],
      ['HSC', students.hsc, 1, D],
      ['HSC', students.hsc, 2, D],
    ]);

    // The scheduler went on to the following night, once per zone.
    await eventually(async () => (await queue.getCompletedCount()) >= 4, 15_000, 100);
    await expectOneSchedulerAndOneDelayedJobPerZone(FOLLOWING);

    // The same night fires again, twice per zone (a second scheduler, a retried job): the nightly
    // processor plans nothing new.
    const dups = await queue.addBulk(
      [NY, CHI].flatMap((tz) =>
        [1, 2].map((n) => ({
          name: syncQueue.jobs.nightly,
          data: { timezone: tz },
          opts: {
            ...syncQueue.defaultJobOptions,
            jobId: `dup-${n}-${schedulerId(tz)}`,
            prevMillis: NEXT[tz]! + n * 60_000,
          },
        })),
      ),
    );
    await eventually(
      async () =>
        (await Promise.all(dups.map((j) => queue.getJobState(j.id!)))).every(
          (s) => s === 'completed',
        ),
      15_000,
      100,
    );
    for (const j of dups) {
      const done = (await queue.getJob(j.id!))!;
      const tz = (done.data as { timezone: string }).timezone;
      expect(done.returnvalue).toEqual({
        runId: first.find((r) => r.schedule_key === `${tz}@2027-01-20`)!.id,
        schools: 0,
      });
    }
    expect(await runs()).toEqual(first);
    expect(await records()).toEqual(once);
    const history = await syncedHistory(t);
    expect(history).toHaveLength(8);
    expect(
      await t.db
        .selectFrom('sync_nights')
        .select(['high_school_id', 'date'])
        .orderBy('high_school_id')
        .execute(),
    ).toEqual([
      { high_school_id: 'HS1', date: D },
      { high_school_id: 'HSC', date: D },
    ]);

    await kill(worker, 'SIGTERM');
    expect(worker.child.exitCode).toBe(0);
  });

  it('workers down at 01:30 while a scheduler process runs: the night still runs when a worker comes back', async () => {
    // One shared, shifted clock for both processes: 01:29:50 EST on Thursday 2027-01-21.
    const offset = offsetTo('2027-01-21T06:29:50Z');
    const fireAt = Date.parse('2027-01-21T06:30:00Z');
    const q2 = new Queue(syncQueue.name, { connection: redis, prefix: prefix2 });
    try {
      const sched = spawnKts(
        { KTS_ROLES: 'scheduler', KTS_SCHEDULER_REFRESH_MS: '1000' },
        offset,
        prefix2,
      );
      await eventually(
        async () => {
          if (!running(sched.child)) throw new Error(`scheduler exited: ${sched.stderr}`);
          return logLines(sched).some((l) => l.msg === 'nightly sync schedulers in place');
        },
        30_000,
        100,
      );
      // Precondition: the night's job is the delayed one, due at 01:30 EST.
      expect((await q2.getJobScheduler(schedulerId(NY)))?.next).toBe(fireAt);
      expect((await q2.getDelayed()).map((j) => j.id)).toContain(
        `repeat:${schedulerId(NY)}:${fireAt}`,
      );
      // 01:30 passes with no worker up; the scheduler keeps reconciling (every second here,
      // every minute by default) for a few seconds.
      await new Promise((r) => setTimeout(r, Math.max(0, fireAt - offset - Date.now()) + 3_000));
      const afterDue = {
        next: (await q2.getJobScheduler(schedulerId(NY)))?.next,
        job: (await q2.getJob(`repeat:${schedulerId(NY)}:${fireAt}`)) ? 'present' : 'removed',
      };

      const worker = spawnKts({ KTS_ROLES: 'workers' }, offset, prefix2);
      const ran = await eventually(
        async () =>
          (await t.db
            .selectFrom('sync_runs')
            .select('id')
            .where('schedule_key', '=', `${NY}@2027-01-21`)
            .executeTakeFirst()) ?? null,
        10_000,
        200,
      ).catch(() => undefined);
      await kill(worker, 'SIGTERM');
      await kill(sched, 'SIGTERM');
      expect(
        { ran: ran !== undefined, ...afterDue },
        'the night of 2027-01-20 must be synced once a worker is back',
      ).toEqual({ ran: true, next: fireAt, job: 'present' });
    } finally {
      await q2.close();
    }
  });
});

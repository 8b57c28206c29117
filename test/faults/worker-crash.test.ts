import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it, inject } from 'vitest';
import type pg from 'pg';
import { Worker, type Job, type Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { eventually, testEnv, type TestExchange } from '../support/context.ts';
import {
  attendance,
  enroll,
  enrollInProcess,
  expectOneAbsenceEach,
  NOW,
  seedCounty,
  type County,
} from '../support/county.ts';
import {
  apiOnlyExchange,
  cleanUp,
  exitOf,
  onCleanup,
  pinoLog,
  reportCrash,
  spawnExchange,
  type PinoLog,
} from '../support/processes.ts';
import {
  expectDrained,
  holdSectionDay,
  lockClient,
  lockWaits,
  prefixQueues,
} from '../support/servers.ts';
import { createClock } from '../../shared/clock.ts';
import { createDb } from '../../shared/db/client.ts';
import { createLogger } from '../../shared/logger.ts';
import { attendanceQueue, BACKOFF, backoffDelay } from '../../shared/queues/index.ts';
import type { ApplyOutcome } from '../../workers/apply-event.ts';
import { eventProcessor } from '../../workers/event-processor.ts';

const DATE = '2027-01-19';
const log = createLogger('silent');
/** Locks lapse after 2 s and every worker looks for stalled jobs each second (config, for tests). */
const FAST = { KTS_LOCK_DURATION_MS: '2000', KTS_STALLED_INTERVAL_MS: '1000' };

interface Setup {
  database: { url: string; drop: () => Promise<void> };
  t: TestExchange;
  c: County;
  kts: string;
  lock: pg.Client;
  attendanceJobs: Queue;
  enrollmentJobs: Queue;
}

interface Spawned extends PinoLog {
  proc: ChildProcess;
}

afterEach(cleanUp);

/** A worker-only exchange in its own process (`node --import tsx infra/main.ts`), logging at info. */
function spawnWorker(s: Setup, extra: Record<string, string> = {}): Spawned {
  const env = testEnv(s.database.url, s.t.prefix, {
    KTS_ROLES: 'workers',
    KTS_SHUTDOWN_TIMEOUT_MS: '20000',
    KTS_NOW: NOW,
    LOG_LEVEL: 'info',
    ...extra,
  });
  const proc = spawnExchange(env);
  const logged = pinoLog(proc);
  reportCrash(proc);
  return { proc, ...logged };
}

const linesWith = (w: Spawned, msg: string) => w.lines.filter((l) => l.msg === msg);

/**
 * A fresh database seeded through an api-only exchange in this process (no workers here): the
 * county, and the first `enrolled` students of HS1 on the welding roster (applied in-process).
 */
async function setUp(opts: { students: number; enrolled: number }): Promise<Setup> {
  const { database, t } = await apiOnlyExchange();
  const c = await seedCounty(t, { studentsPerSchool: opts.students });
  const kts = c.sections.atcWelding;
  await enrollInProcess(t, c.tokens.hs1, c.students.hs1.slice(0, opts.enrolled), kts);
  // The seeding jobs were applied in-process; drop their queue entries so counts start at zero.
  const queues = prefixQueues(t.prefix);
  const attendanceJobs = queues.open('attendance');
  const enrollmentJobs = queues.open('enrollment');
  await enrollmentJobs.drain();
  expect(await enrollmentJobs.getWaitingCount()).toBe(0);

  const lock = await lockClient(database.url);
  return { database, t, c, kts, lock, attendanceJobs, enrollmentJobs };
}

async function postAttendance(s: Setup, students: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const studentId of students) {
    const e = attendance(s.kts, DATE, [{ studentId, status: 'absent', excuse: 'unknown' }]);
    const r = await s.t.api('POST', '/v1/events', { token: s.c.tokens.atc, body: e });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    ids.push(e.eventId);
  }
  return ids;
}

const attendanceEvents = (s: Setup) =>
  s.t.db
    .selectFrom('events')
    .select(['seq', 'event_id', 'status', 'applied_at'])
    .where('type', '=', 'attendance-entered')
    .orderBy('seq')
    .execute();

/** Each event applied, one attendance row and one history entry per record; returns duplicates. */
async function assertAppliedOnce(s: Setup, eventIds: readonly string[], students: string[]) {
  const events = await attendanceEvents(s);
  expect(events.map((e) => [e.event_id, e.status])).toEqual(eventIds.map((id) => [id, 'applied']));
  for (const e of events) expect(e.applied_at).not.toBeNull();
  await expectOneAbsenceEach(s.t.db, DATE, students, eventIds);
  const history = await s.t.db
    .selectFrom('history')
    .select(['event_id', 'action', 'student_id'])
    .where('record', '=', 'attendance')
    .execute();
  const perEvent = new Map<string, number>();
  for (const h of history)
    perEvent.set(String(h.event_id), (perEvent.get(String(h.event_id)) ?? 0) + 1);
  const duplicated = [...perEvent.values()].reduce((n, k) => n + Math.max(0, k - 1), 0);
  expect([...history].sort((a, b) => String(a.event_id).localeCompare(String(b.event_id)))).toEqual(
    eventIds
      .map((id, i) => ({ event_id: id, action: 'create', student_id: students[i] }))
      .sort((a, b) => a.event_id.localeCompare(b.event_id)),
  );
  expect(await s.t.db.selectFrom('event_rejections').select('code').execute()).toEqual([]);
  return { applied: events.filter((e) => e.status === 'applied').length, duplicated };
}

describe('a worker process SIGKILLed while its jobs hold locks', () => {
  it('a second worker recovers the stalled jobs and each event is applied exactly once', async () => {
    const n = 6;
    const s = await setUp({ students: n, enrolled: n });
    const students = s.c.students.hs1;
    await holdSectionDay(s.lock, s.kts, DATE);
    const eventIds = await postAttendance(s, students);
    expect(await s.attendanceJobs.getWaitingCount()).toBe(n);

    const first = spawnWorker(s, FAST);
    await eventually(async () => (await s.attendanceJobs.getActiveCount()) === n, 30_000, 100);
    // Every apply is inside its transaction (event row locked), waiting on the section-day lock.
    await eventually(
      async () =>
        (await lockWaits(s.t.db)).filter(
          (w) => w.locktype === 'advisory' && w.app === 'kts-workers',
        ).length === n,
      10_000,
      100,
    );

    const killedAt = Date.now();
    first.proc.kill('SIGKILL');
    await exitOf(first.proc, 10_000);
    expect(first.proc.signalCode).toBe('SIGKILL');
    expect((await attendanceEvents(s)).map((e) => e.status)).toEqual(Array(n).fill('pending'));
    expect(await s.attendanceJobs.getActiveCount(), 'the dead worker still holds them').toBe(n);

    const second = spawnWorker(s, FAST);
    await second.started;
    await s.lock.query('commit');

    await eventually(
      async () => (await attendanceEvents(s)).every((e) => e.status === 'applied'),
      30_000,
      25,
    );
    const recoverMs = Date.now() - killedAt;
    await eventually(
      async () =>
        (await s.attendanceJobs.getCompletedCount()) === n &&
        (await s.attendanceJobs.getActiveCount()) === 0,
      10_000,
      100,
    );

    const { applied, duplicated } = await assertAppliedOnce(s, eventIds, students);
    const { counts, jobs } = await expectDrained(s.attendanceJobs, n);
    for (const job of jobs) {
      // Recovered through the stall check, run once more, and the effect is the second run's.
      expect(job.stalledCounter, `job ${job.id}`).toBe(1);
      expect(job.attemptsMade, `job ${job.id}`).toBe(1);
      expect(job.returnvalue, `job ${job.id}`).toEqual({ outcome: 'applied', rejected: 0 });
    }
    expect(linesWith(second, 'job stalled; it will run again')).toHaveLength(n);
    expect(linesWith(second, 'event applied')).toHaveLength(n);

    console.log(
      `FIGURE: worker SIGKILL with ${n} jobs holding locks: acknowledged=${eventIds.length} applied=${applied} duplicated=${duplicated} failed=${counts.failed} recover_ms=${recoverMs} (kill to all applied; lock ${FAST.KTS_LOCK_DURATION_MS} ms, stall check ${FAST.KTS_STALLED_INTERVAL_MS} ms, includes the second worker's start-up)`,
    );

    second.proc.kill('SIGTERM');
    expect(await exitOf(second.proc, 25_000)).toBe(0);
    await assertAppliedOnce(s, eventIds, students);
  });
});

describe('a worker that stalls while alive (event loop blocked past its lock)', () => {
  it('the redelivered copy and the late original both run the apply; one effect, the late worker logs', async () => {
    const STALL_MS = 7_000;
    const s = await setUp({ students: 1, enrolled: 1 });
    const studentId = s.c.students.hs1[0]!;
    await holdSectionDay(s.lock, s.kts, DATE);

    // The late worker lives in this process, on its own pool (named, to tell its lock waits apart).
    const w1Db = createDb({ connectionString: s.database.url, max: 2, applicationName: 'kts-w1' });
    onCleanup(() => w1Db.destroy());
    const real = eventProcessor(attendanceQueue, {
      config: s.t.config,
      db: w1Db,
      clock: createClock(NOW),
      log,
    });
    let release: () => void = () => {};
    const otherWorkerReady = new Promise<void>((r) => (release = r));
    let blockedAt = 0;
    let wokeAt = 0;
    let calls = 0;
    const w1Outcomes: string[] = [];
    const w1Errors: Error[] = [];
    const w1Failed: string[] = [];
    const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    const w1 = new Worker(
      'attendance',
      async (job: Job<unknown, ApplyOutcome>, token?: string) => {
        if (calls++ === 0) {
          await otherWorkerReady;
          blockedAt = Date.now();
          // Synchronous: no lock renewal, no I/O, nothing in this process runs for STALL_MS.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, STALL_MS);
          wokeAt = Date.now();
        }
        const r = await real(job, token);
        w1Outcomes.push(r.outcome);
        return r;
      },
      {
        connection,
        prefix: s.t.prefix,
        concurrency: 1,
        lockDuration: 2_000,
        stalledInterval: 1_000,
        maxStalledCount: 2,
        settings: {
          backoffStrategy: (attemptsMade: number, type?: string) =>
            type === BACKOFF ? backoffDelay(attemptsMade) : -1,
        },
      },
    );
    w1.on('error', (err) => {
      w1Errors.push(err);
      console.log(`late in-process worker reported an error (logged, not thrown): ${err.message}`);
    });
    w1.on('failed', (job, err) => {
      w1Failed.push(err.message);
      console.log(`late in-process worker reported job ${job?.id} failed: ${err.message}`);
    });
    onCleanup(async () => {
      await w1.close(true);
      connection.disconnect();
    });
    await w1.waitUntilReady();

    const [eventId] = await postAttendance(s, [studentId]);
    const [event] = await attendanceEvents(s);
    const jobId = `evt-${event!.seq}`;
    await eventually(async () => calls === 1, 10_000, 20);
    expect(await s.attendanceJobs.getActiveCount()).toBe(1);

    const other = spawnWorker(s, FAST);
    await other.started;
    release(); // the in-process worker now blocks its event loop for STALL_MS

    // The other worker took the stalled job and is inside the apply (event row locked, waiting on
    // the section-day lock); the late worker woke up and is inside the apply too, behind the row.
    await eventually(
      async () => {
        const waits = await lockWaits(s.t.db);
        return (
          waits.some((w) => w.app === 'kts-workers' && w.locktype === 'advisory') &&
          waits.some((w) => w.app === 'kts-w1' && ['transactionid', 'tuple'].includes(w.locktype))
        );
      },
      15_000,
      50,
    );
    expect(wokeAt - blockedAt).toBeGreaterThanOrEqual(STALL_MS - 50);
    expect(calls, 'the in-process worker ran the job once').toBe(1);
    const stalled = linesWith(other, 'job stalled; it will run again');
    expect(stalled.map((l) => l.jobId)).toEqual([jobId]);
    await s.lock.query('commit');

    await eventually(
      async () =>
        w1Outcomes.length === 1 &&
        (await s.attendanceJobs.getJob(jobId))?.finishedOn !== undefined &&
        w1Errors.some((e) => /Missing lock|Lock mismatch/.test(e.message)),
      15_000,
      50,
    );
    // The two runs: the redelivered copy applied the event, the original found it applied.
    expect(w1Outcomes).toEqual(['already_applied']);
    const applies = linesWith(other, 'event applied');
    expect(applies.map((l) => l.outcome)).toEqual(['applied']);
    const job = (await s.attendanceJobs.getJob(jobId))!;
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toEqual({ outcome: 'applied', rejected: 0 });
    expect(job.stalledCounter).toBe(1);
    expect(await s.attendanceJobs.getFailedCount()).toBe(0);
    // The late worker's completion was refused (its lock had passed to the other worker): BullMQ
    // reports that as an 'error' event, and this process keeps running.
    expect(w1Errors.map((e) => e.message)).toContainEqual(
      expect.stringMatching(new RegExp(`(Missing lock|Lock mismatch) for job ${jobId}`)),
    );
    expect(w1Failed, 'no failure is recorded for a job another worker completed').toEqual([]);
    expect(w1.isRunning()).toBe(true);

    const { applied, duplicated } = await assertAppliedOnce(s, [eventId!], [studentId]);
    const stalledAfter = Number(stalled[0]!.time) - blockedAt;
    const appliedAfter = Number(applies[0]!.time) - blockedAt;
    console.log(
      `FIGURE: worker stalled while alive (event loop blocked ${STALL_MS} ms, lock 2000 ms): acknowledged=1 applies_run=${1 + w1Outcomes.length} applied=${applied} duplicated=${duplicated} failed=0 stall_detected_ms=${stalledAfter} applied_ms=${appliedAfter} (from the block; the section-day lock was held until the late worker had entered the apply too)`,
    );

    other.proc.kill('SIGTERM');
    expect(await exitOf(other.proc, 25_000)).toBe(0);
    expect(w1.isRunning()).toBe(true);
    await assertAppliedOnce(s, [eventId!], [studentId]);
  });
});

/** A small seeded PRNG, so a failing order can be replayed from the printed seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: T[], random: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** `count` distinct instants on the morning of DATE, in random order. */
function distinctInstants(count: number, random: () => number): string[] {
  const seconds = new Set<number>();
  while (seconds.size < count) seconds.add(Math.floor(random() * 4 * 3600));
  const base = Date.parse(`${DATE}T13:00:00.000Z`);
  return shuffle([...seconds], random).map((x) => new Date(base + x * 1000).toISOString());
}

const later = (
  a: { occurredAt: string; eventId: string },
  b: { occurredAt: string; eventId: string },
) => a.occurredAt > b.occurredAt || (a.occurredAt === b.occurredAt && a.eventId > b.eventId);

async function threeWorkers(s: Setup): Promise<Spawned[]> {
  const ws = [1, 2, 3].map(() => spawnWorker(s, { KTS_WORKER_CONCURRENCY: '10' }));
  await Promise.all(ws.map((w) => w.started));
  return ws;
}

async function stopAll(ws: Spawned[]) {
  for (const w of ws) w.proc.kill('SIGTERM');
  for (const w of ws) expect(await exitOf(w.proc, 25_000)).toBe(0);
}

describe('three workers, many concurrent events for one student and section', () => {
  it('attendance: the latest (occurredAt, eventId) wins; history only for events that won when they applied', async () => {
    const N = 150;
    const seed = Date.now();
    const random = prng(seed);
    const s = await setUp({ students: 2, enrolled: 1 });
    const studentId = s.c.students.hs1[0]!;
    const workers = await threeWorkers(s);

    const statuses = ['absent', 'tardy', 'early_release'] as const;
    const events = distinctInstants(N, random).map((occurredAt, i) => {
      const record = {
        studentId,
        status: statuses[i % 3]!,
        excuse: 'unknown',
        minutesAbsent: i + 1,
      };
      const body = attendance(s.kts, DATE, [record], { occurredAt });
      return { eventId: body.eventId, occurredAt, record, body };
    });
    const t0 = Date.now();
    const answers = await Promise.all(
      events.map((e) => s.t.api('POST', '/v1/events', { token: s.c.tokens.atc, body: e.body })),
    );
    const acceptedMs = Date.now() - t0;
    expect(answers.map((a) => a.status)).toEqual(Array(N).fill(202));
    await eventually(
      async () => (await attendanceEvents(s)).every((e) => e.status !== 'pending'),
      60_000,
      50,
    );
    const allAppliedMs = Date.now() - t0;

    const stored = await attendanceEvents(s);
    expect(stored).toHaveLength(N);
    expect(stored.filter((e) => e.status !== 'applied')).toEqual([]);
    expect(await s.t.db.selectFrom('event_rejections').select('code').execute()).toEqual([]);

    const winner = events.reduce((w, e) => (later(e, w) ? e : w));
    const rows = await s.t.db
      .selectFrom('attendance')
      .select(['student_id', 'status', 'excuse', 'minutes_absent', 'occurred_at', 'event_id'])
      .where('kts_course_number', '=', s.kts)
      .where('date', '=', DATE)
      .execute();
    expect(rows.map((r) => ({ ...r, occurred_at: r.occurred_at.toISOString() }))).toEqual([
      {
        student_id: studentId,
        status: winner.record.status,
        excuse: 'unknown',
        minutes_absent: winner.record.minutesAbsent,
        occurred_at: winner.occurredAt,
        event_id: winner.eventId,
      },
    ]);

    // History in apply order: each entry's event is later than every one before it, its "before"
    // is the previous entry's "after", and the last "after" is the row in force.
    const byId = new Map(events.map((e) => [e.eventId, e]));
    const history = await s.t.db
      .selectFrom('history')
      .select(['event_id', 'action', 'before', 'after'])
      .where('record', '=', 'attendance')
      .where('student_id', '=', studentId)
      .orderBy('id')
      .execute();
    expect(history.length).toBeGreaterThanOrEqual(1);
    expect(history.length).toBeLessThanOrEqual(N);
    const state = (e: (typeof events)[number]) => ({
      ktsCourseNumber: s.kts,
      date: DATE,
      status: e.record.status,
      excuse: 'unknown',
      code: null,
      minutesAbsent: e.record.minutesAbsent,
    });
    let prev: (typeof events)[number] | undefined;
    for (const [i, h] of history.entries()) {
      const e = byId.get(String(h.event_id));
      expect(e, `history entry ${i} names an event that was sent`).toBeDefined();
      if (prev)
        expect(later(e!, prev), `history entry ${i} is later than entry ${i - 1}`).toBe(true);
      expect(h.action).toBe(prev ? 'update' : 'create');
      expect(h.before).toEqual(prev ? state(prev) : null);
      expect(h.after).toEqual(state(e!));
      prev = e;
    }
    expect(history.at(-1)!.event_id).toBe(winner.eventId);
    const duplicated = history.length - new Set(history.map((h) => h.event_id)).size;
    expect(duplicated).toBe(0);

    await eventually(async () => (await s.attendanceJobs.getCompletedCount()) === N, 10_000, 100);
    expect(await s.attendanceJobs.getFailedCount()).toBe(0);
    const perWorker = workers.map((w) => linesWith(w, 'event applied').length);
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(N);
    console.log(
      `FIGURE: 3 workers x concurrency 10, ${N} attendance events for one student/section/day (seed ${seed}): acknowledged=${answers.length} applied=${stored.length} duplicated=${duplicated} failed=0 history_entries=${history.length} per_worker=${perWorker.join('/')} accepted_ms=${acceptedMs} all_applied_ms=${allAppliedMs}`,
    );
    await stopAll(workers);
  });

  it('enrollment-changed: the latest (occurredAt, eventId) holds the key; the roster and history follow it', async () => {
    const N = 150;
    const seed = Date.now();
    const random = prng(seed);
    const s = await setUp({ students: 2, enrolled: 0 });
    const studentId = s.c.students.hs1[1]!;
    const workers = await threeWorkers(s);

    const pairs: number[][] = [];
    for (let a = 0; a <= 20; a++) for (let b = a + 1; b <= 20; b++) pairs.push([a, b]);
    const periods = shuffle(pairs, random).slice(0, N);
    const events = distinctInstants(N, random).map((occurredAt, i) => {
      const hsPeriods = periods[i]!;
      const body = enroll(studentId, s.kts, { occurredAt, hsPeriods, effectiveDate: '2027-01-04' });
      return { eventId: body.eventId, occurredAt, hsPeriods, body };
    });
    const t0 = Date.now();
    const answers = await Promise.all(
      events.map((e) => s.t.api('POST', '/v1/events', { token: s.c.tokens.hs1, body: e.body })),
    );
    const acceptedMs = Date.now() - t0;
    expect(answers.map((a) => a.status)).toEqual(Array(N).fill(202));
    const enrollmentEvents = () =>
      s.t.db
        .selectFrom('events')
        .select(['event_id', 'status'])
        .where('type', '=', 'enrollment-changed')
        .execute();
    await eventually(
      async () => (await enrollmentEvents()).every((e) => e.status !== 'pending'),
      60_000,
      50,
    );
    const allAppliedMs = Date.now() - t0;
    const stored = await enrollmentEvents();
    expect(stored).toHaveLength(N);
    expect(stored.filter((e) => e.status !== 'applied')).toEqual([]);
    expect(await s.t.db.selectFrom('event_rejections').select('code').execute()).toEqual([]);

    const winner = events.reduce((w, e) => (later(e, w) ? e : w));
    const actions = await s.t.db
      .selectFrom('enrollment_actions')
      .select(['effective_date', 'action', 'hs_periods', 'occurred_at', 'event_id'])
      .where('student_id', '=', studentId)
      .where('kts_course_number', '=', s.kts)
      .execute();
    expect(actions.map((a) => ({ ...a, occurred_at: a.occurred_at.toISOString() }))).toEqual([
      {
        effective_date: '2027-01-04',
        action: 'add',
        hs_periods: winner.hsPeriods,
        occurred_at: winner.occurredAt,
        event_id: winner.eventId,
      },
    ]);
    const spans = await s.t.db
      .selectFrom('roster_spans')
      .select(['start_date as startDate', 'end_date as endDate', 'hs_periods as hsPeriods'])
      .where('student_id', '=', studentId)
      .where('kts_course_number', '=', s.kts)
      .execute();
    const finalSpans = [{ startDate: '2027-01-04', endDate: null, hsPeriods: winner.hsPeriods }];
    expect(spans).toEqual(finalSpans);

    const byId = new Map(events.map((e) => [e.eventId, e]));
    const history = await s.t.db
      .selectFrom('history')
      .select(['event_id', 'action', 'before', 'after'])
      .where('record', '=', 'enrollment')
      .where('student_id', '=', studentId)
      .orderBy('id')
      .execute();
    expect(history.length).toBeGreaterThanOrEqual(1);
    expect(history.length).toBeLessThanOrEqual(N);
    const roster = (e: (typeof events)[number] | undefined) => ({
      ktsCourseNumber: s.kts,
      schoolYear: '2026-2027',
      spans: e ? [{ startDate: '2027-01-04', endDate: null, hsPeriods: e.hsPeriods }] : [],
    });
    let prev: (typeof events)[number] | undefined;
    for (const [i, h] of history.entries()) {
      const e = byId.get(String(h.event_id));
      expect(e, `history entry ${i} names an event that was sent`).toBeDefined();
      if (prev)
        expect(later(e!, prev), `history entry ${i} is later than entry ${i - 1}`).toBe(true);
      expect(h.action).toBe('add');
      expect(h.before).toEqual(roster(prev));
      expect(h.after).toEqual(roster(e));
      prev = e;
    }
    expect(history.at(-1)!.event_id).toBe(winner.eventId);
    expect((history.at(-1)!.after as { spans: unknown }).spans).toEqual(finalSpans);
    const duplicated = history.length - new Set(history.map((h) => h.event_id)).size;
    expect(duplicated).toBe(0);

    await eventually(async () => (await s.enrollmentJobs.getCompletedCount()) === N, 10_000, 100);
    expect(await s.enrollmentJobs.getFailedCount()).toBe(0);
    const perWorker = workers.map((w) => linesWith(w, 'event applied').length);
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(N);
    console.log(
      `FIGURE: 3 workers x concurrency 10, ${N} enrollment-changed events for one student/section/effectiveDate (seed ${seed}): acknowledged=${answers.length} applied=${stored.length} duplicated=${duplicated} failed=0 history_entries=${history.length} per_worker=${perWorker.join('/')} accepted_ms=${acceptedMs} all_applied_ms=${allAppliedMs}`,
    );
    await stopAll(workers);
  });
});

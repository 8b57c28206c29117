import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { eventually, testEnv, type TestExchange } from '../support/context.ts';
import {
  attendance,
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
  reportCrash,
  running,
  spawnExchange,
} from '../support/processes.ts';
import {
  advisoryWaiters,
  expectDrained,
  holdSectionDay,
  lockClient,
  prefixQueues,
} from '../support/servers.ts';

const DATE = '2027-01-19';

interface Setup {
  database: { url: string; drop: () => Promise<void> };
  t: TestExchange;
  c: County;
  lock: pg.Client;
  queue: Queue;
  redis: Redis;
  eventIds: string[];
}

afterEach(cleanUp);

/** A worker-only exchange in its own process, on the test's database and queue prefix. */
function spawnWorker(s: Setup, extra: Record<string, string> = {}): ChildProcess {
  const env = testEnv(s.database.url, s.t.prefix, {
    KTS_ROLES: 'workers',
    KTS_SHUTDOWN_TIMEOUT_MS: '20000',
    PORT: '0',
    KTS_NOW: NOW,
    ...extra,
  });
  const child = spawnExchange(env, { stdout: 'ignore' });
  reportCrash(child);
  return child;
}

/**
 * A database seeded through an api-only exchange (roster applied in-process), a Postgres advisory
 * lock held on the section-day the attendance applies need, and N attendance events queued for it.
 */
async function setUp(n: number): Promise<Setup> {
  const { database, t } = await apiOnlyExchange();
  const c = await seedCounty(t, { studentsPerSchool: n });
  const kts = c.sections.atcWelding;
  await enrollInProcess(t, c.tokens.hs1, c.students.hs1, kts);

  const lock = await lockClient(database.url);
  await holdSectionDay(lock, kts, DATE);

  const { redis, open } = prefixQueues(t.prefix);
  const queue = open('attendance');

  const eventIds: string[] = [];
  for (const s of c.students.hs1) {
    const e = attendance(kts, DATE, [{ studentId: s, status: 'absent', excuse: 'unknown' }]);
    const r = await t.api('POST', '/v1/events', { token: c.tokens.atc, body: e });
    expect(r.status).toBe(202);
    eventIds.push(e.eventId);
  }
  expect(await queue.getWaitingCount()).toBe(n);
  return { database, t, c, lock, queue, redis, eventIds };
}

/** Every event applied exactly once: status, one attendance row and one history entry each. */
async function assertAppliedOnce(s: Setup) {
  const events = await s.t.db
    .selectFrom('events')
    .select(['event_id', 'status', 'applied_at'])
    .where('type', '=', 'attendance-entered')
    .orderBy('seq')
    .execute();
  expect(events.map((e) => [e.event_id, e.status])).toEqual(
    s.eventIds.map((id) => [id, 'applied']),
  );
  for (const e of events) expect(e.applied_at).not.toBeNull();
  await expectOneAbsenceEach(s.t.db, DATE, s.c.students.hs1, s.eventIds);
  const history = await s.t.db
    .selectFrom('history')
    .select(['event_id', 'action'])
    .where('record', '=', 'attendance')
    .orderBy('id')
    .execute();
  expect([...history].sort((a, b) => String(a.event_id).localeCompare(String(b.event_id)))).toEqual(
    [...s.eventIds].sort().map((id) => ({ event_id: id, action: 'create' })),
  );
  const rejections = await s.t.db.selectFrom('event_rejections').select('code').execute();
  expect(rejections).toEqual([]);
}

describe('SIGTERM with jobs in flight', () => {
  it('lets in-flight jobs finish, exits 0, and nothing stalls', async () => {
    const n = 5;
    const s = await setUp(n);
    const worker = spawnWorker(s);
    await eventually(async () => (await s.queue.getActiveCount()) === n, 30_000, 100);
    // Every apply is inside its transaction, blocked on the section-day lock.
    await eventually(async () => (await advisoryWaiters(s.lock)) === n, 10_000, 100);

    worker.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(running(worker), 'the worker must wait for its in-flight jobs').toBe(true);
    expect(await s.queue.getActiveCount()).toBe(n);
    await s.lock.query('commit');

    expect(await exitOf(worker, 25_000)).toBe(0);
    await assertAppliedOnce(s);
    const { jobs } = await expectDrained(s.queue, n);
    for (const job of jobs) {
      expect(job.stalledCounter, `job ${job.id}`).toBe(0);
      expect(job.attemptsMade, `job ${job.id}`).toBe(1);
      expect(job.returnvalue).toEqual({ outcome: 'applied', rejected: 0 });
    }
  });

  it('a second SIGTERM exits at once (130); a fresh worker recovers the stalled jobs once', async () => {
    const n = 4;
    const s = await setUp(n);
    const fast = { KTS_LOCK_DURATION_MS: '2000', KTS_STALLED_INTERVAL_MS: '1000' };
    const first = spawnWorker(s, fast);
    await eventually(async () => (await s.queue.getActiveCount()) === n, 30_000, 100);
    await eventually(async () => (await advisoryWaiters(s.lock)) === n, 10_000, 100);

    first.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    expect(running(first)).toBe(true);
    first.kill('SIGTERM');
    expect(await exitOf(first, 10_000)).toBe(130);
    // Nothing was applied by the process that died.
    const pending = await s.t.db
      .selectFrom('events')
      .select('status')
      .where('type', '=', 'attendance-entered')
      .execute();
    expect(pending.map((e) => e.status)).toEqual(Array(n).fill('pending'));

    const second = spawnWorker(s, fast);
    await new Promise((r) => setTimeout(r, 1_000));
    await s.lock.query('commit');

    await eventually(
      async () =>
        (await s.queue.getCompletedCount()) === n && (await s.queue.getActiveCount()) === 0,
      30_000,
      200,
    );
    await assertAppliedOnce(s);
    const { jobs } = await expectDrained(s.queue, n);
    for (const job of jobs) {
      expect(job.returnvalue).toEqual({ outcome: 'applied', rejected: 0 });
      expect(job.stalledCounter, `job ${job.id}`).toBeLessThanOrEqual(1);
    }

    second.kill('SIGTERM');
    expect(await exitOf(second, 25_000)).toBe(0);
    // Still exactly once after the second worker shut down.
    await assertAppliedOnce(s);
  });
});

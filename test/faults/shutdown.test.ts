import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, inject } from 'vitest';
import pg from 'pg';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  createTestDatabase,
  eventually,
  startTestExchange,
  testEnv,
  type TestExchange,
} from '../support/context.ts';
import { attendance, enroll, NOW, seedCounty, type County } from '../support/county.ts';
import { createClock } from '../../shared/clock.ts';
import { createLogger } from '../../shared/logger.ts';
import { applyEvent } from '../../workers/apply-event.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATE = '2027-01-19';
const log = createLogger('silent');

interface Setup {
  database: { url: string; drop: () => Promise<void> };
  t: TestExchange;
  c: County;
  lock: pg.Client;
  queue: Queue;
  redis: Redis;
  eventIds: string[];
}

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exitOf(child, 10_000).catch(() => undefined);
    }
  }
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
});

function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker pid ${child.pid} did not exit within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** A worker-only exchange in its own process, on the test's database and queue prefix. */
function spawnWorker(s: Setup, extra: Record<string, string> = {}): ChildProcess {
  const env = testEnv(s.database.url, s.t.prefix, {
    KTS_ROLES: 'workers',
    KTS_SHUTDOWN_TIMEOUT_MS: '20000',
    PORT: '0',
    KTS_NOW: NOW,
    ...extra,
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && code !== 130 && signal !== 'SIGKILL')
      process.stderr.write(`worker ${child.pid} exited ${code} ${signal ?? ''}\n${stderr}\n`);
  });
  children.push(child);
  return child;
}

/**
 * A database seeded through an api-only exchange (roster applied in-process), a Postgres advisory
 * lock held on the section-day the attendance applies need, and N attendance events queued for it.
 */
async function setUp(n: number): Promise<Setup> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const t = await startTestExchange({
    clock: createClock(NOW),
    env: { KTS_ROLES: 'api' },
    database,
  });
  cleanups.push(() => t.close());
  const c = await seedCounty(t, { studentsPerSchool: n });
  const kts = c.sections.atcWelding;
  const deps = { config: t.config, db: t.db, clock: t.exchange.clock, log };
  for (const s of c.students.hs1) {
    const e = enroll(s, kts);
    expect((await t.api('POST', '/v1/events', { token: c.tokens.hs1, body: e })).status).toBe(202);
    const row = await t.db
      .selectFrom('events')
      .select('seq')
      .where('event_id', '=', e.eventId)
      .executeTakeFirstOrThrow();
    expect((await applyEvent(deps, row.seq, log)).outcome).toBe('applied');
  }

  const lock = new pg.Client({ connectionString: database.url });
  await lock.connect();
  cleanups.push(async () => {
    await lock.query('rollback').catch(() => undefined);
    await lock.end();
  });
  await lock.query('begin');
  await lock.query(`select pg_advisory_xact_lock(hashtextextended($1, 0))`, [
    `attendance:${kts}:${DATE}`,
  ]);

  const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  const queue = new Queue('attendance', { connection: redis, prefix: t.prefix });
  cleanups.push(async () => {
    await queue.close();
    redis.disconnect();
  });

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
  const rows = await s.t.db
    .selectFrom('attendance')
    .select(['student_id', 'event_id', 'status'])
    .where('date', '=', DATE)
    .orderBy('student_id')
    .execute();
  expect(rows).toEqual(
    s.c.students.hs1.map((studentId, i) => ({
      student_id: studentId,
      event_id: s.eventIds[i],
      status: 'absent',
    })),
  );
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

async function assertQueueDrained(s: Setup, n: number) {
  const counts = await s.queue.getJobCounts(
    'active',
    'waiting',
    'delayed',
    'prioritized',
    'failed',
    'completed',
  );
  expect(counts).toEqual({
    active: 0,
    waiting: 0,
    delayed: 0,
    prioritized: 0,
    failed: 0,
    completed: n,
  });
  const jobs = await s.queue.getJobs(['completed']);
  expect(jobs).toHaveLength(n);
  return jobs;
}

/** The stored attendance applies are waiting on the test's advisory lock. */
async function waitersOnLock(s: Setup): Promise<number> {
  const r = await s.lock.query<{ n: string }>(
    `select count(*) as n from pg_locks where locktype = 'advisory' and not granted`,
  );
  return Number(r.rows[0]!.n);
}

describe('SIGTERM with jobs in flight', () => {
  it('lets in-flight jobs finish, exits 0, and nothing stalls', async () => {
    const n = 5;
    const s = await setUp(n);
    const worker = spawnWorker(s);
    await eventually(async () => (await s.queue.getActiveCount()) === n, 30_000, 100);
    // Every apply is inside its transaction, blocked on the section-day lock.
    await eventually(async () => (await waitersOnLock(s)) === n, 10_000, 100);

    worker.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(running(worker), 'the worker must wait for its in-flight jobs').toBe(true);
    expect(await s.queue.getActiveCount()).toBe(n);
    await s.lock.query('commit');

    expect(await exitOf(worker, 25_000)).toBe(0);
    await assertAppliedOnce(s);
    const jobs = await assertQueueDrained(s, n);
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
    await eventually(async () => (await waitersOnLock(s)) === n, 10_000, 100);

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
    const jobs = await assertQueueDrained(s, n);
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

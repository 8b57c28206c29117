import { afterEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { sql } from 'kysely';
import type { Job, Queue } from 'bullmq';
import { eventually, type TestExchange } from '../support/context.ts';
import { attendance, enrollInProcess, seedCounty, seqOf, type County } from '../support/county.ts';
import { apiOnlyExchange, cleanUp, onCleanup } from '../support/processes.ts';
import { holdSectionDay, lockClient, lockWaits, prefixQueues } from '../support/servers.ts';
import { createLogger } from '../../shared/logger.ts';
import { attendanceQueue, eventJobOptions } from '../../shared/queues/index.ts';
import type { WorkerDeps } from '../../workers/deps.ts';
import type { ApplyOutcome } from '../../workers/apply-event.ts';
import { attendanceProcessor } from '../../workers/attendance.processor.ts';
import { startWorkers, type RunningWorkers } from '../../workers/main.ts';

const DATE = '2027-01-19';
const log = createLogger('silent');

interface Setup {
  t: TestExchange;
  c: County;
  kts: string;
  studentId: string;
  deps: WorkerDeps;
  /** The real attendance queue, with the product's job options (retries without end for transient errors, capped backoff). */
  queue: Queue;
  lock: pg.Client;
}

afterEach(cleanUp);

/**
 * An api-only exchange in this process on a fresh database (no workers yet): the county, one HS1
 * student on the welding roster (applied in-process), and a handle on the attendance queue.
 */
async function setUp(): Promise<Setup> {
  const { database, t } = await apiOnlyExchange();
  const c = await seedCounty(t, { studentsPerSchool: 1 });
  const kts = c.sections.atcWelding;
  const studentId = c.students.hs1[0]!;
  const deps: WorkerDeps = { config: t.config, db: t.db, clock: t.exchange.clock, log };
  await enrollInProcess(t, c.tokens.hs1, [studentId], kts);

  const queues = prefixQueues(t.prefix);
  const queue = queues.open(attendanceQueue.name, { defaultJobOptions: eventJobOptions });
  // The enrollment job was applied in-process above; drop it so the workers start on a clean slate.
  const enrollment = queues.open('enrollment');
  await enrollment.drain();
  await enrollment.close();
  const lock = await lockClient(database.url);
  return { t, c, kts, studentId, deps, queue, lock };
}

/** The product's workers (workers/main.ts), in this process, on the test's prefix and database. */
async function runWorkers(s: Setup): Promise<RunningWorkers> {
  const running = await startWorkers(s.deps);
  onCleanup(async () => void (await running.close(5_000)));
  return running;
}

async function postAttendance(
  s: Setup,
  over: Record<string, unknown> = {},
): Promise<{ eventId: string; seq: number; jobId: string }> {
  const e = attendance(
    s.kts,
    DATE,
    [{ studentId: s.studentId, status: 'absent', excuse: 'unknown' }],
    over,
  );
  const r = await s.t.api('POST', '/v1/events', { token: s.c.tokens.atc, body: e });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const seq = await seqOf(s.t, e.eventId);
  return { eventId: e.eventId, seq, jobId: `evt-${seq}` };
}

const eventRow = (s: Setup, seq: number) =>
  s.t.db
    .selectFrom('events')
    .select(['status', 'applied_at'])
    .where('seq', '=', seq)
    .executeTakeFirstOrThrow();

async function effects(s: Setup) {
  const rows = await s.t.db.selectFrom('attendance').select(['event_id']).execute();
  const history = await s.t.db
    .selectFrom('history')
    .select(['event_id'])
    .where('record', '=', 'attendance')
    .execute();
  const rejections = await s.t.db.selectFrom('event_rejections').select(['code']).execute();
  return { rows, history, rejections };
}

async function settled(s: Setup, jobId: string, timeoutMs = 10_000): Promise<Job> {
  return eventually(
    async () => {
      const job = await s.queue.getJob(jobId);
      return job && job.finishedOn !== undefined ? job : undefined;
    },
    timeoutMs,
    25,
  );
}

/** A fault trigger on `attendance`: the first `times` inserts raise `sqlstate`, the rest pass. */
async function injectFault(s: Setup, sqlstate: string, times: number) {
  await sql`create table fault_plan (sqlstate text not null, times int not null)`.execute(s.t.db);
  // A sequence counts attempts: nextval survives the rollback of the transaction that failed.
  await sql`create sequence fault_hits`.execute(s.t.db);
  await sql`
    create function fault_attendance() returns trigger language plpgsql as $$
    declare p fault_plan;
    begin
      select * into p from fault_plan limit 1;
      if found and nextval('fault_hits') <= p.times then
        raise exception 'injected fault % for the test', p.sqlstate using errcode = p.sqlstate;
      end if;
      return null;
    end $$`.execute(s.t.db);
  await sql`create trigger fault_attendance before insert on attendance
            for each statement execute function fault_attendance()`.execute(s.t.db);
  await sql`insert into fault_plan values (${sqlstate}, ${times})`.execute(s.t.db);
}

const faultHits = async (s: Setup) =>
  Number(
    (
      await sql<{
        n: string;
      }>`select case when is_called then last_value else 0 end as n from fault_hits`.execute(s.t.db)
    ).rows[0]!.n,
  );

describe('job payloads that fail validation in the worker (an older deploy)', () => {
  it('fail at once with a readable reason, are never retried, and the worker keeps going', async () => {
    const s = await setUp();
    // A real pending event whose own job is gone: only the malformed job below references it.
    const e = await postAttendance(s);
    await (await s.queue.getJob(e.jobId))!.remove();
    const poison = [
      { id: 'old-shape', name: attendanceQueue.jobName, data: { seq: 5 }, mentions: /eventSeq/ },
      {
        id: 'bad-type',
        name: attendanceQueue.jobName,
        data: { eventSeq: 'x', schoolId: 'ATC1', eventId: e.eventId },
        mentions: /eventSeq/,
      },
      {
        id: 'old-name',
        name: 'apply-attendance-v0',
        data: { eventSeq: e.seq, schoolId: 'ATC1', eventId: e.eventId },
        mentions: /apply-attendance-v0/,
      },
    ];
    for (const p of poison) await s.queue.add(p.name, p.data, { jobId: p.id });
    const running = await runWorkers(s);

    const failedAt = new Map<string, number>();
    for (const p of poison) {
      const job = await settled(s, p.id);
      failedAt.set(p.id, Date.now());
      expect(await job.getState(), p.id).toBe('failed');
      expect(job.attemptsMade, p.id).toBe(1);
      expect(job.finishedOn! - job.timestamp, `${p.id} failed at once`).toBeLessThan(2_000);
      expect((job.stacktrace ?? []).join('\n'), p.id).toMatch(/UnrecoverableError/);
      console.log(`poison job ${p.id} (${p.name} ${JSON.stringify(p.data)}): ${job.failedReason}`);
    }
    // Longer than the first backoff (at most 500 ms): a retried job would be back by now.
    await new Promise((r) => setTimeout(r, 1_500));
    for (const p of poison) {
      const job = (await s.queue.getJob(p.id))!;
      expect(await job.getState(), p.id).toBe('failed');
      expect(job.attemptsMade, `${p.id} was never retried`).toBe(1);
    }
    expect(await s.queue.getJobCounts('waiting', 'delayed', 'active', 'failed')).toEqual({
      waiting: 0,
      delayed: 0,
      active: 0,
      failed: poison.length,
    });
    // Nothing was applied for the event the old-name job pointed at.
    expect((await eventRow(s, e.seq)).status).toBe('pending');
    expect(await effects(s)).toEqual({ rows: [], history: [], rejections: [] });

    // The same worker, still up, applies the event from a well-formed job.
    expect(running.workers.every((w) => w.isRunning())).toBe(true);
    await s.queue.add(
      attendanceQueue.jobName,
      { eventSeq: e.seq, schoolId: 'ATC1', eventId: e.eventId },
      { jobId: e.jobId },
    );
    const ok = await settled(s, e.jobId);
    expect(ok.returnvalue).toEqual({ outcome: 'applied', rejected: 0 });
    expect((await eventRow(s, e.seq)).status).toBe('applied');
    expect((await effects(s)).rows).toEqual([{ event_id: e.eventId }]);

    // A readable reason names what is wrong with the job (checked last, so the rest is proven).
    for (const p of poison) {
      const job = (await s.queue.getJob(p.id))!;
      expect(job.failedReason, `failedReason of ${p.id}`).toMatch(p.mentions);
    }
  });

  it('a stored event whose body no longer parses fails once (UnrecoverableError) and stays pending', async () => {
    const s = await setUp();
    const e = await postAttendance(s);
    await sql`update events set body = '{"type":"attendance-entered"}'::jsonb where seq = ${e.seq}`.execute(
      s.t.db,
    );
    await runWorkers(s);

    const job = await settled(s, e.jobId);
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/no longer matches the attendance-entered schema/);
    expect((job.stacktrace ?? []).join('\n')).toMatch(/UnrecoverableError/);
    await new Promise((r) => setTimeout(r, 1_500));
    const again = (await s.queue.getJob(e.jobId))!;
    expect(await again.getState()).toBe('failed');
    expect(again.attemptsMade).toBe(1);

    // Visible: the school still sees it pending, and nothing was written.
    expect(await eventRow(s, e.seq)).toEqual({ status: 'pending', applied_at: null });
    const view = await s.t.api('GET', `/v1/events/${e.eventId}`, { token: s.c.tokens.atc });
    expect(view.status).toBe(200);
    expect(view.body.status).toBe('pending');
    expect(await effects(s)).toEqual({ rows: [], history: [], rejections: [] });
    console.log(`stored-body poison ${e.jobId}: ${job.failedReason}`);
    // A readable reason names the field that no longer parses (checked last).
    expect(job.failedReason).toMatch(/eventId|occurredAt|ktsCourseNumber|date|records/);
  });
});

describe('database errors while applying', () => {
  it('a transient error (serialization failure, 40001) retries with backoff and applies once', async () => {
    const s = await setUp();
    await injectFault(s, '40001', 2);
    await runWorkers(s);
    const e = await postAttendance(s);

    const job = await settled(s, e.jobId, 15_000);
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toEqual({ outcome: 'applied', rejected: 0 });
    // Two failed attempts, then the one that applied.
    expect(job.attemptsMade).toBe(3);
    expect(await faultHits(s)).toBe(3);
    // Backoff from 500 ms with full jitter: at least 250 ms, then at least 500 ms between attempts.
    expect(job.processedOn! - job.timestamp).toBeGreaterThanOrEqual(750);
    expect(await eventRow(s, e.seq)).toMatchObject({ status: 'applied' });
    const fx = await effects(s);
    expect(fx).toEqual({
      rows: [{ event_id: e.eventId }],
      history: [{ event_id: e.eventId }],
      rejections: [],
    });
    console.log(
      `FIGURE: transient 40001 on the first 2 applies: acknowledged=1 applied=1 duplicated=${fx.history.length - 1} attempts=${job.attemptsMade} applied_after_ms=${job.finishedOn! - job.timestamp}`,
    );
  });

  it('a permanent error (invalid_parameter_value, 22023) is not retried: it fails once and the event stays pending', async () => {
    const s = await setUp();
    await injectFault(s, '22023', 1_000_000);
    await runWorkers(s);
    const e = await postAttendance(s);

    await eventually(async () => (await faultHits(s)) >= 1, 10_000, 25);
    // Watch for a while: a job retried with backoff from 500 ms makes several attempts in 4 s.
    await new Promise((r) => setTimeout(r, 4_000));
    const job = (await s.queue.getJob(e.jobId))!;
    const state = await job.getState();
    const hits = await faultHits(s);
    console.log(
      `FIGURE: permanent 22023 on every apply: after 4 s the job is ${state} with attemptsMade=${job.attemptsMade} (${hits} applies ran), attempts allowed=${job.opts.attempts}, failedReason=${JSON.stringify(job.failedReason)}`,
    );
    expect(await eventRow(s, e.seq)).toEqual({ status: 'pending', applied_at: null });
    expect(await effects(s)).toEqual({ rows: [], history: [], rejections: [] });
    expect(hits, 'a data error is not worth a second apply').toBe(1);
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    // The reason names the SQLSTATE; the database's own message (which can quote row values, such
    // as a student id in a key) stays in the worker's log, off the dashboard.
    expect(job.failedReason).toMatch(/database error 22023/);
    expect(job.failedReason).not.toMatch(/injected fault/);
  });

  it('a unique violation that is not the event key is not mistaken for "already applied"', async () => {
    const s = await setUp();
    await injectFault(s, '23505', 1_000_000);
    await runWorkers(s);
    const e = await postAttendance(s);

    await eventually(async () => (await faultHits(s)) >= 1, 10_000, 25);
    await new Promise((r) => setTimeout(r, 1_000));
    const job = (await s.queue.getJob(e.jobId))!;
    const state = await job.getState();
    console.log(
      `unique violation (23505) raised by the attendance write: job ${state}, returnvalue=${JSON.stringify(job.returnvalue)}, event ${(await eventRow(s, e.seq)).status}`,
    );
    // The effect was rolled back: the event is not applied, so the job must not say it was.
    expect(await eventRow(s, e.seq)).toEqual({ status: 'pending', applied_at: null });
    expect(await effects(s)).toEqual({ rows: [], history: [], rejections: [] });
    expect(state, 'a job whose event is still pending is not completed').not.toBe('completed');
    expect(job.returnvalue).not.toEqual({ outcome: 'already_applied', rejected: 0 });
  });
});

describe('two deliveries of one event racing each other', () => {
  it('20 times: exactly one applies, the other reports already_applied, no errors', async () => {
    const s = await setUp();
    const processor = attendanceProcessor(s.deps);
    const base = Date.parse(`${DATE}T14:00:00.000Z`);
    const outcomes: string[][] = [];
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      // Each event later than the last, so each one's effect is a visible write.
      const e = await postAttendance(s, { occurredAt: new Date(base + i * 60_000).toISOString() });
      ids.push(e.eventId);
      const job = (await s.queue.getJob(e.jobId))!;
      // Hold the section-day lock so both deliveries are inside their transactions at once.
      await holdSectionDay(s.lock, s.kts, DATE);
      const both = Promise.allSettled([processor(job), processor(job)]);
      await eventually(
        async () => {
          // Not on the lock holder's connection: pg_stat_activity is a per-transaction snapshot.
          const types = (await lockWaits(s.t.db)).map((x) => x.locktype);
          return (
            types.includes('advisory') && types.some((t) => t === 'transactionid' || t === 'tuple')
          );
        },
        5_000,
        10,
      );
      await s.lock.query('commit');
      const settledBoth = await both;
      const errors = settledBoth.filter((x) => x.status === 'rejected');
      expect(errors, `round ${i}`).toEqual([]);
      const round = settledBoth
        .map((x) => (x as PromiseFulfilledResult<ApplyOutcome>).value.outcome)
        .sort();
      outcomes.push(round);
      expect(round, `round ${i}`).toEqual(['already_applied', 'applied']);
      const row = await s.t.db
        .selectFrom('attendance')
        .select('event_id')
        .executeTakeFirstOrThrow();
      expect(row.event_id, `round ${i}`).toBe(e.eventId);
    }
    const fx = await effects(s);
    expect(fx.history.map((h) => h.event_id).sort()).toEqual([...ids].sort());
    expect(fx.rejections).toEqual([]);
    const statuses = await s.t.db
      .selectFrom('events')
      .select('status')
      .where('type', '=', 'attendance-entered')
      .execute();
    expect(statuses.map((x) => x.status)).toEqual(Array(20).fill('applied'));
    console.log(
      `FIGURE: 20 events each delivered twice at once: acknowledged=20 applied=${statuses.length} duplicated=${fx.history.length - ids.length} already_applied=${outcomes.filter((o) => o[0] === 'already_applied').length}`,
    );
  });
});

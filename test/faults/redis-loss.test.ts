import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createClock } from '../../shared/clock.ts';
import { schedulerId } from '../../shared/queues/sync.ts';
import { eventually, startTestExchange, type TestExchange } from '../support/context.ts';
import {
  appliedOf,
  attendanceHistory,
  attendanceLoad,
  enroll,
  JANUARY_DAYS,
  NOW,
  seedCounty,
} from '../support/county.ts';
import { cleanUp, onCleanup } from '../support/processes.ts';
import { startPrivateRedis } from '../support/servers.ts';

afterEach(cleanUp);

const STUDENTS = 75;
const PER_EVENT = 3;
const LOAD_MS = 6_000;
const KILL_AT_MS = 2_000;
const RESTART_AT_MS = 4_500;

interface Posted {
  eventId: string;
  date: string;
  students: string[];
  phase: 'before' | 'down' | 'after';
  status: number;
  ms: number;
  retryAfter: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function schedulers(url: string, prefix: string): Promise<string[]> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => {});
  const q = new Queue('sync', { connection: r, prefix });
  try {
    return (await q.getJobSchedulers()).map((s) => s.key).sort();
  } finally {
    await q.close();
    r.disconnect();
  }
}

async function pendingCount(t: TestExchange): Promise<number> {
  const r = await t.db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('type', '=', 'attendance-entered')
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

describe('Redis killed and restarted empty under load', () => {
  it('every acknowledged event applies once; schedulers come back; /readyz says why meanwhile', async () => {
    const redis = await startPrivateRedis(['--maxmemory-policy', 'noeviction']);

    const t = await startTestExchange({
      clock: createClock(NOW),
      env: {
        REDIS_URL: redis.url,
        KTS_SWEEP_INTERVAL_MS: '500',
        KTS_SWEEP_AFTER_MS: '1000',
        KTS_SCHEDULER_REFRESH_MS: '1000',
      },
    });
    onCleanup(() => t.close());
    const c = await seedCounty(t, { studentsPerSchool: STUDENTS });
    const kts = c.sections.atcWelding;
    for (const s of c.students.hs1) {
      const r = await t.api('POST', '/v1/events', { token: c.tokens.hs1, body: enroll(s, kts) });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
    }
    await eventually(
      async () => {
        const rows = await t.db
          .selectFrom('events')
          .select('status')
          .where('type', '=', 'enrollment-changed')
          .execute();
        return rows.length === STUDENTS && rows.every((e) => e.status === 'applied');
      },
      30_000,
      100,
    );
    // HS1 opted into the nightly sync: one scheduler for its zone.
    const wanted = [schedulerId('America/New_York')];
    await eventually(async () => (await schedulers(redis.url, t.prefix)).length === 1, 10_000);
    expect(await schedulers(redis.url, t.prefix)).toEqual(wanted);
    expect((await t.api('GET', '/readyz', { token: null })).status).toBe(200);

    // 300 events of 3 records, each record a distinct (student, day): every one leaves a row.
    const bodies = attendanceLoad(kts, c.students.hs1, JANUARY_DAYS, PER_EVENT);
    let phase: Posted['phase'] = 'before';
    const posts: Array<Promise<Posted>> = [];
    const t0 = Date.now();
    let readyzDown: Awaited<ReturnType<TestExchange['api']>> | null = null;
    let restartedAt = 0;
    const fault = (async () => {
      await sleep(KILL_AT_MS - (Date.now() - t0));
      await redis.kill();
      phase = 'down';
      await sleep(1_000);
      readyzDown = await t.api('GET', '/readyz', { token: null });
      await sleep(RESTART_AT_MS - (Date.now() - t0));
      await redis.start();
      restartedAt = Date.now();
      phase = 'after';
    })();
    for (let i = 0; i < bodies.length; i++) {
      await sleep(t0 + (i * LOAD_MS) / bodies.length - Date.now());
      const body = bodies[i]!;
      const at = phase;
      const started = Date.now();
      posts.push(
        t.api('POST', '/v1/events', { token: c.tokens.atc, body }).then((r) => ({
          eventId: body.eventId,
          date: body.date,
          students: body.records.map((x) => (x as { studentId: string }).studentId),
          phase: at,
          status: r.status,
          ms: Date.now() - started,
          retryAfter: r.headers['retry-after'],
        })),
      );
    }
    const results = await Promise.all(posts);
    await fault;

    const down = readyzDown as Awaited<ReturnType<TestExchange['api']>> | null;
    expect(down, 'readyz was asked while Redis was down').not.toBeNull();
    expect(down!.status, JSON.stringify(down!.body)).toBe(503);
    expect(down!.body.status).toBe('not_ready');
    const redisCheck = (down!.body.checks as Array<{ name: string; ok: boolean; detail: string }>)
      .filter((x) => x.name === 'redis')
      .at(0);
    expect(redisCheck, JSON.stringify(down!.body)).toBeDefined();
    expect(redisCheck!.ok).toBe(false);
    console.log(
      `FIGURE: redis-loss /readyz with Redis down: 503, redis check "${redisCheck!.detail}"`,
    );
    // "Why" for an operator: that Redis cannot be reached, not a client library's internal state.
    expect
      .soft(redisCheck!.detail)
      .toMatch(/unreachable|not reachable|cannot reach|not connected|connect|refused/i);

    const acked = results.filter((r) => r.status === 202);
    const fivexx = results.filter((r) => r.status >= 500);
    const byPhase = (p: Posted['phase']) => results.filter((r) => r.phase === p);
    const downPosts = byPhase('down');
    console.log(
      `FIGURE: redis-loss posted=${results.length} (before=${byPhase('before').length}, while Redis down=${downPosts.length}, after restart=${byPhase('after').length}); statuses ${JSON.stringify(
        Object.fromEntries(
          [...new Set(results.map((r) => r.status))].map((s) => [
            s,
            results.filter((r) => r.status === s).length,
          ]),
        ),
      )}`,
    );
    console.log(
      `FIGURE: redis-loss slowest POST while Redis down: ${Math.max(0, ...downPosts.map((r) => r.ms))} ms`,
    );
    console.log(`FIGURE: redis-loss acknowledged=${acked.length}`);
    console.log(`FIGURE: redis-loss 5xx=${fivexx.length}`);
    expect(downPosts.length, 'the load must span the outage').toBeGreaterThan(50);
    expect(fivexx, JSON.stringify(fivexx.slice(0, 3))).toEqual([]);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 202));

    const schedulersBack = eventually(
      async () => (await schedulers(redis.url, t.prefix)).length === 1,
      30_000,
      100,
    ).then(() => Date.now() - restartedAt);
    await eventually(async () => (await pendingCount(t)) === 0, 60_000, 50).catch(
      (err: unknown) => {
        throw new Error(
          `events still pending 60 s after Redis restarted: ${String(err)}; see FIGURE lines`,
        );
      },
    );
    const drainMs = Date.now() - restartedAt;
    console.log(`FIGURE: redis-loss time from Redis restart to all applied=${drainMs} ms`);

    const { events, applied } = await appliedOf(t.db, acked);
    console.log(`FIGURE: redis-loss applied=${applied.length}`);

    const rows = await t.db
      .selectFrom('attendance')
      .select(['student_id', 'date', 'event_id'])
      .where('kts_course_number', '=', kts)
      .execute();
    const rowOf = new Map<string, string[]>();
    for (const r of rows) {
      const k = `${r.student_id}|${r.date}`;
      rowOf.set(k, [...(rowOf.get(k) ?? []), r.event_id]);
    }
    const { history, historyOf, duplicated } = await attendanceHistory(t.db);
    console.log(
      `FIGURE: redis-loss duplicated=${duplicated} (records with more than one history entry; ${history.length} history rows for ${acked.length * PER_EVENT} records)`,
    );

    expect(events).toHaveLength(results.length);
    expect(applied.map((r) => r.eventId)).toEqual(acked.map((r) => r.eventId));
    expect(rows).toHaveLength(acked.length * PER_EVENT);
    for (const r of acked) {
      for (const s of r.students) {
        expect(rowOf.get(`${s}|${r.date}`), `attendance ${s} ${r.date}`).toEqual([r.eventId]);
        expect(historyOf.get(`${r.eventId}|${s}`), `history ${r.eventId} ${s}`).toBe(1);
      }
    }
    expect(duplicated).toBe(0);
    expect(history).toHaveLength(acked.length * PER_EVENT);
    expect(await t.db.selectFrom('event_rejections').select('code').execute()).toEqual([]);

    // The nightly schedulers were lost with Redis; the scheduler role puts them back by itself.
    console.log(
      `FIGURE: redis-loss time from Redis restart to the nightly schedulers back=${await schedulersBack} ms`,
    );
    expect(await schedulers(redis.url, t.prefix)).toEqual(wanted);
    const ready = await t.api('GET', '/readyz', { token: null });
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
  }, 120_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { createDb } from '../../shared/db/client.ts';
import { createClock } from '../../shared/clock.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEnqueuer, type EventRef } from '../../producers/enqueue.ts';
import { createTestDatabase, eventually, startTestExchange } from '../support/context.ts';
import { attendance, NOW, seedCounty } from '../support/county.ts';
import { cleanUp, onCleanup } from '../support/processes.ts';
import { startPrivateRedis } from '../support/servers.ts';

const log = createLogger('silent');

afterEach(cleanUp);

describe('readiness on a misconfigured Redis', () => {
  it('workers are not ready on allkeys-lru and say why; the api alone is ready', async () => {
    const redis = await startPrivateRedis(['--maxmemory-policy', 'allkeys-lru']);
    const database = await createTestDatabase();
    onCleanup(() => database.drop());

    const workers = await startTestExchange({
      env: { KTS_ROLES: 'workers', REDIS_URL: redis.url },
      database,
    });
    onCleanup(() => workers.close());
    const r = await workers.api('GET', '/readyz', { token: null });
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('not_ready');
    const check = (r.body.checks as Array<{ name: string; ok: boolean; detail: string }>).find(
      (c) => c.name === 'redis',
    );
    expect(check, JSON.stringify(r.body)).toBeDefined();
    expect(check!.ok).toBe(false);
    expect(check!.detail).toMatch(/maxmemory-policy is allkeys-lru/);
    expect(check!.detail).toMatch(/noeviction/);
    // Only the Redis check fails: Postgres and migrations are fine.
    for (const c of r.body.checks as Array<{ name: string; ok: boolean }>)
      if (c.name !== 'redis') expect(c.ok, c.name).toBe(true);

    const api = await startTestExchange({
      env: { KTS_ROLES: 'api', REDIS_URL: redis.url },
      database,
    });
    onCleanup(() => api.close());
    const a = await api.api('GET', '/readyz', { token: null });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.status).toBe('ready');
    expect((a.body.checks as Array<{ name: string }>).map((c) => c.name)).not.toContain('redis');
  });
});

/**
 * How many events go through: the 200,000, queue to committed (rejected) event, with the
 * workers draining as the producer adds. On this 2-core machine that measured 420-500 events/s,
 * about 7-8 minutes; KTS_FAULT_MEMORY_EVENTS=20000 gives a quick look while developing.
 */
const TOTAL = Number(process.env.KTS_FAULT_MEMORY_EVENTS ?? 200_000);
const SAMPLES = 10;
const SAMPLE_EVERY = TOTAL / SAMPLES;
const BATCH = 1000;
/** Jobs enqueued but not yet completed: the producer keeps at most this many ahead of the workers. */
const MAX_AHEAD = 2000;
/** removeOnComplete's count for event queues (shared/queues/event-job.ts). */
const KEPT_COMPLETED = 1000;
const RUN_TIMEOUT_MS = Math.max(150_000, Math.ceil(TOTAL / 150) * 1000);

async function memory(r: Redis): Promise<{ used: number; keys: number }> {
  const info = await r.info('memory');
  const m = /^used_memory:(\d+)/m.exec(info);
  if (!m) throw new Error(`no used_memory in INFO memory: ${info.slice(0, 200)}`);
  return { used: Number(m[1]), keys: await r.dbsize() };
}

describe('bounded Redis memory', () => {
  it(
    `stays flat while ${TOTAL} events go through the queue`,
    { timeout: RUN_TIMEOUT_MS + 20_000 },
    async () => {
      const redis = await startPrivateRedis(['--maxmemory-policy', 'noeviction']);
      const database = await createTestDatabase();
      onCleanup(() => database.drop());

      // Schools and calendars, and one accepted event to copy: an attendance event for a section no
      // center published, so every copy is rejected (unknown_section) after a few cheap reads.
      const seeder = await startTestExchange({
        clock: createClock(NOW),
        env: { KTS_ROLES: 'api' },
        database,
      });
      const c = await seedCounty(seeder, { studentsPerSchool: 1 });
      const template = attendance('ATC1-ZZZ-999', '2027-01-19', [
        { studentId: c.students.hs1[0], status: 'absent', excuse: 'unknown' },
      ]);
      const posted = await seeder.api('POST', '/v1/events', {
        token: c.tokens.atc,
        body: template,
      });
      expect(posted.status, JSON.stringify(posted.body)).toBe(202);
      await seeder.close();

      const db = createDb({ connectionString: database.url, max: 2 });
      onCleanup(() => db.destroy());
      const tpl = await db
        .selectFrom('events')
        .select('seq')
        .where('event_id', '=', template.eventId)
        .executeTakeFirstOrThrow();
      await sql`
      insert into events (school_id, event_id, type, body, body_hash, occurred_at, record_count,
                          credential_id, received_at)
      select e.school_id, 'mem-' || g, e.type, jsonb_set(e.body, '{eventId}', to_jsonb('mem-' || g)),
             e.body_hash || '-' || g, e.occurred_at, e.record_count, e.credential_id, e.received_at
      from events e, generate_series(1, ${TOTAL}::int) g
      where e.seq = ${tpl.seq}`.execute(db);
      const refs: EventRef[] = (
        await db
          .selectFrom('events')
          .select(['seq', 'school_id', 'event_id'])
          .where('event_id', 'like', 'mem-%')
          .orderBy('seq')
          .execute()
      ).map((r) => ({
        eventSeq: r.seq,
        schoolId: r.school_id,
        eventId: r.event_id,
        type: 'attendance-entered',
      }));
      expect(refs).toHaveLength(TOTAL);

      const t = await startTestExchange({
        clock: createClock(NOW),
        env: { KTS_ROLES: 'workers', REDIS_URL: redis.url, KTS_WORKER_CONCURRENCY: '50' },
        database,
      });
      onCleanup(() => t.close());
      const worker = t.exchange.workers!.workers.find((w) => w.name === 'attendance')!;
      let completed = 0;
      let failed = 0;
      worker.on('completed', () => (completed += 1));
      worker.on('failed', () => (failed += 1));

      const enqueuer = createEnqueuer({ redisUrl: redis.url, prefix: t.prefix, log });
      onCleanup(() => enqueuer.close());
      const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      onCleanup(async () => probe.disconnect());
      const baseline = await memory(probe);

      const samples: Array<{ completed: number; used: number; keys: number }> = [];
      let nextSample = SAMPLE_EVERY;
      let sampling: Promise<void> = Promise.resolve();
      const started = Date.now();
      // Sampled from the worker's own completions so each sample lands right at its multiple.
      worker.on('completed', () => {
        if (completed >= nextSample) {
          const at = nextSample;
          nextSample += SAMPLE_EVERY;
          sampling = sampling.then(async () => {
            samples.push({ completed: at, ...(await memory(probe)) });
          });
        }
      });

      let enqueued = 0;
      while (enqueued < TOTAL) {
        if (enqueued - completed >= MAX_AHEAD) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const batch = refs.slice(enqueued, enqueued + BATCH);
        expect(await enqueuer.enqueueMany(batch)).toBe(batch.length);
        enqueued += batch.length;
      }
      await eventually(async () => completed + failed >= TOTAL, RUN_TIMEOUT_MS, 100);
      const seconds = (Date.now() - started) / 1000;
      await sampling;

      console.log(
        `FIGURE: memory baseline used_memory=${baseline.used} keys=${baseline.keys} (empty private redis-server, before the run)`,
      );
      for (const s of samples)
        console.log(
          `FIGURE: memory after ${s.completed} completed jobs: used_memory=${s.used} bytes (${(s.used / 1024 / 1024).toFixed(2)} MiB), DBSIZE=${s.keys}`,
        );
      console.log(
        `FIGURE: memory run ${TOTAL} events (attendance, rejected unknown_section) in ${seconds.toFixed(1)} s = ${Math.round(TOTAL / seconds)} events/s, concurrency 50, at most ${MAX_AHEAD} jobs ahead, batches of ${BATCH}`,
      );

      expect(failed).toBe(0);
      expect(completed).toBe(TOTAL);
      const pending = await db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('event_id', 'like', 'mem-%')
        .where('status', '!=', 'rejected')
        .executeTakeFirstOrThrow();
      expect(Number(pending.n)).toBe(0);

      expect(samples.map((s) => s.completed)).toEqual(
        Array.from({ length: SAMPLES }, (_, i) => (i + 1) * SAMPLE_EVERY),
      );
      const mid = samples.find((s) => s.completed === TOTAL / 2)!;
      const last3 = samples.slice(-3);
      const peakLate = Math.max(...last3.map((s) => s.used));
      expect(
        peakLate,
        `used_memory late ${peakLate} vs at ${mid.completed} ${mid.used}`,
      ).toBeLessThanOrEqual(mid.used * 1.25);
      // Completed jobs trimmed to 1000 and the backlog capped (below MAX_AHEAD, plus the batch just
      // added): about one key per kept or waiting job and the queue's own few, never one per job
      // that went through.
      for (const s of samples)
        expect(s.keys, `DBSIZE at ${s.completed}`).toBeLessThan(
          KEPT_COMPLETED + MAX_AHEAD + BATCH + 200,
        );
      const queue = new Queue('attendance', { connection: probe, prefix: t.prefix });
      const counts = await queue.getJobCounts('completed', 'failed', 'wait', 'active');
      await queue.close();
      expect(counts.completed).toBeLessThanOrEqual(KEPT_COMPLETED);
      expect(counts.failed).toBe(0);
      const streamLen = await probe.xlen(`${t.prefix}:attendance:events`);
      console.log(
        `FIGURE: memory end: completed jobs kept=${counts.completed}, events stream length=${streamLen}`,
      );
      expect(streamLen).toBeLessThanOrEqual(10_100);
    },
  );
});

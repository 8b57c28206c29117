import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { Queue, type QueueOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { deleteRedisPrefix, startTestExchange, type TestExchange } from '../support/context.ts';
import { createLogger } from '../../shared/logger.ts';
import { addDays } from '../../shared/domain/dates.ts';
import { cronAt, schedulerId, syncQueue } from '../../shared/queues/sync.ts';
import { reconcileSchedulers } from '../../producers/scheduler.ts';

const log = createLogger('silent');
const NY = 'America/New_York';
const CHI = 'America/Chicago';
const ZONES = [NY, CHI] as const;

const connections: Redis[] = [];
const queues: Queue[] = [];
const prefixes: string[] = [];

function newPrefix() {
  const p = `kts-test-sched-${randomBytes(4).toString('hex')}`;
  prefixes.push(p);
  return p;
}

/** A queue on its own connection (as a separate scheduler process would have). */
function syncQueueOn(prefix: string, settings?: QueueOptions['settings']) {
  const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  connections.push(connection);
  const q = new Queue(syncQueue.name, { connection, prefix, ...(settings ? { settings } : {}) });
  queues.push(q);
  return q;
}

afterAll(async () => {
  for (const q of queues) await q.close();
  for (const c of connections) c.disconnect();
  for (const p of prefixes) await deleteRedisPrefix(p);
});

const wallFormats = new Map<string, Intl.DateTimeFormat>();
/** `YYYY-MM-DD HH:MM` on the wall clock of `timeZone`. */
function wall(ms: number, timeZone: string): string {
  let f = wallFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    wallFormats.set(timeZone, f);
  }
  return f.format(new Date(ms)).replace(', ', ' ');
}

function dates(first: string, last: string): string[] {
  const out: string[] = [];
  for (let d = first; d <= last; d = addDays(d, 1)) out.push(d);
  return out;
}

const WEEKS = [dates('2027-03-10', '2027-03-18'), dates('2027-11-03', '2027-11-11')];

async function upsertNightly(q: Queue, tz: string, startDate?: number) {
  await q.upsertJobScheduler(
    schedulerId(tz),
    { pattern: cronAt('01:30'), tz, ...(startDate !== undefined ? { startDate } : {}) },
    { name: syncQueue.jobs.nightly, data: { timezone: tz }, opts: syncQueue.defaultJobOptions },
  );
  const s = await q.getJobScheduler(schedulerId(tz));
  expect(s, `scheduler for ${tz}`).toBeDefined();
  expect(s!.next).toEqual(expect.any(Number));
  return s!.next!;
}

describe('the real BullMQ job scheduler across the 2027 DST changes', () => {
  // Measured next run times, reported by the test run (console) for the record.
  const measured: Record<string, string[]> = {};

  for (const tz of ZONES) {
    for (const week of WEEKS) {
      const first = week[0]!;
      const last = week.at(-1)!;

      it(`${tz} ${first}..${last}: next run times chained from each previous fire are 01:30 local, once a night`, async () => {
        const q = syncQueueOn(newPrefix());
        // The scheduler itself computes each next run from the previous run's time (prevMillis);
        // chaining startDate on the previous `next` reads back exactly that sequence.
        let start = Date.parse(`${addDays(first, -1)}T17:00:00Z`); // midday before the first night
        const nexts: number[] = [];
        for (let i = 0; i < week.length; i++) {
          const next = await upsertNightly(q, tz, start);
          nexts.push(next);
          start = next;
        }
        measured[`${tz} chained ${first}`] = nexts.map((n) => new Date(n).toISOString());
        expect(nexts.map((n) => wall(n, tz))).toEqual(week.map((d) => `${d} 01:30`));
        // Strictly increasing and about a day apart (23, 24 or 25 hours; never 1 hour).
        for (let i = 1; i < nexts.length; i++) {
          const gapH = (nexts[i]! - nexts[i - 1]!) / 3600_000;
          expect([23, 24, 25], `${tz} gap before ${week[i]}`).toContain(gapH);
        }
        // One scheduler, one delayed job (the last upsert replaced the earlier ones), named by next.
        expect((await q.getJobSchedulers()).map((s) => s.key)).toEqual([schedulerId(tz)]);
        const delayed = await q.getDelayed();
        expect(delayed.map((j) => j.id)).toEqual([`repeat:${schedulerId(tz)}:${nexts.at(-1)}`]);
        expect(delayed[0]!.name).toBe(syncQueue.jobs.nightly);
        expect(delayed[0]!.data).toEqual({ timezone: tz });
      });

      it(`${tz} ${first}..${last}: startDate at each previous midday gives that night's 01:30, one per night`, async () => {
        const q = syncQueueOn(newPrefix());
        const nexts: number[] = [];
        for (const night of week) {
          nexts.push(await upsertNightly(q, tz, Date.parse(`${addDays(night, -1)}T17:00:00Z`)));
        }
        expect(nexts.map((n) => wall(n, tz))).toEqual(week.map((d) => `${d} 01:30`));
        expect(new Set(nexts).size).toBe(week.length);
        expect(await q.getDelayed()).toHaveLength(1);
      });
    }
  }

  it('the fire instants read back are the expected UTC ones on both sides of each change', () => {
    // Filled in by the tests above (they run first, in file order).
    expect(measured[`${NY} chained 2027-03-10`]).toEqual([
      '2027-03-10T06:30:00.000Z',
      '2027-03-11T06:30:00.000Z',
      '2027-03-12T06:30:00.000Z',
      '2027-03-13T06:30:00.000Z',
      '2027-03-14T06:30:00.000Z', // 01:30 EST, before the 02:00 jump
      '2027-03-15T05:30:00.000Z', // EDT from here
      '2027-03-16T05:30:00.000Z',
      '2027-03-17T05:30:00.000Z',
      '2027-03-18T05:30:00.000Z',
    ]);
    expect(measured[`${NY} chained 2027-11-03`]).toEqual([
      '2027-11-03T05:30:00.000Z',
      '2027-11-04T05:30:00.000Z',
      '2027-11-05T05:30:00.000Z',
      '2027-11-06T05:30:00.000Z',
      '2027-11-07T05:30:00.000Z', // the first 01:30 (EDT); the second (06:30Z) is not a run
      '2027-11-08T06:30:00.000Z', // EST from here
      '2027-11-09T06:30:00.000Z',
      '2027-11-10T06:30:00.000Z',
      '2027-11-11T06:30:00.000Z',
    ]);
    expect(measured[`${CHI} chained 2027-03-10`]?.slice(3, 6)).toEqual([
      '2027-03-13T07:30:00.000Z',
      '2027-03-14T07:30:00.000Z',
      '2027-03-15T06:30:00.000Z',
    ]);
    expect(measured[`${CHI} chained 2027-11-03`]?.slice(3, 6)).toEqual([
      '2027-11-06T06:30:00.000Z',
      '2027-11-07T06:30:00.000Z',
      '2027-11-08T07:30:00.000Z',
    ]);
    console.log(`measured next run times: ${JSON.stringify(measured, null, 1)}`);
  });
});

describe('reconcileSchedulers', () => {
  let t: TestExchange;

  async function putSchool(id: string, timezone: string, extra: Record<string, unknown> = {}) {
    const r = await t.api('PUT', `/v1/schools/${id}`, {
      body: { name: `School ${id}`, kind: 'high_school', districtId: 'D-017', timezone, ...extra },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }

  beforeAll(async () => {
    t = await startTestExchange({ env: { KTS_ROLES: 'api' } });
    await putSchool('HS1', NY, { attendanceSync: true });
    await putSchool('HS2', NY); // not opted in
    await putSchool('HS9', CHI); // Chicago, not opted in
    const atc = await t.api('PUT', '/v1/schools/ATC9', {
      body: { name: 'Central ATC', kind: 'atc', districtId: 'D-017', timezone: 'America/Denver' },
    });
    expect(atc.status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
  });

  const deps = (queue: Queue) => ({ config: t.config, db: t.db, log, queue });

  async function state(q: Queue) {
    const schedulers = (await q.getJobSchedulers()).sort((a, b) => a.key.localeCompare(b.key));
    const delayed = (await q.getDelayed()).map((j) => String(j.id)).sort();
    return { schedulers, delayed };
  }

  function expectOnePerZone(s: Awaited<ReturnType<typeof state>>, zones: readonly string[]): void {
    const sorted = [...zones].sort((a, b) => schedulerId(a).localeCompare(schedulerId(b)));
    expect(s.schedulers.map((x) => x.key)).toEqual(sorted.map(schedulerId));
    for (const [i, tz] of sorted.entries()) {
      const sch = s.schedulers[i]!;
      expect(sch.pattern).toBe('0 30 1 * * *');
      expect(sch.tz).toBe(tz);
      expect(sch.name).toBe(syncQueue.jobs.nightly);
      expect(sch.template?.data).toEqual({ timezone: tz });
      expect(wall(sch.next!, tz).slice(11)).toBe('01:30');
      expect(sch.next! - Date.now()).toBeGreaterThan(0);
      expect(sch.next! - Date.now()).toBeLessThanOrEqual(25 * 3600_000);
    }
    expect(s.delayed).toEqual(
      sorted
        .map((tz) => `repeat:${schedulerId(tz)}:${s.schedulers.find((x) => x.tz === tz)!.next}`)
        .sort(),
    );
  }

  it('only zones of opted-in high schools get a scheduler; turning the last one off removes it', async () => {
    const q = syncQueueOn(newPrefix());
    expect(await reconcileSchedulers(deps(q))).toEqual([NY]);
    expectOnePerZone(await state(q), [NY]);

    await putSchool('HS8', CHI, { attendanceSync: true });
    expect((await reconcileSchedulers(deps(q))).sort()).toEqual([CHI, NY]);
    expectOnePerZone(await state(q), [NY, CHI]);

    await putSchool('HS8', CHI, { attendanceSync: false });
    expect(await reconcileSchedulers(deps(q))).toEqual([NY]);
    expectOnePerZone(await state(q), [NY]);

    // Back on for the next test.
    await putSchool('HS8', CHI, { attendanceSync: true });
  });

  it('three reconciles at once, several times, on separate connections: one scheduler and one delayed job per zone', async () => {
    const prefix = newPrefix();
    const qs = [syncQueueOn(prefix), syncQueueOn(prefix), syncQueueOn(prefix)];
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(qs.map((q) => reconcileSchedulers(deps(q))));
      for (const zones of results) expect([...zones].sort()).toEqual([CHI, NY]);
      const s = await state(qs[0]!);
      expectOnePerZone(s, [NY, CHI]);
      expect(await qs[0]!.getJobCountByTypes('wait', 'active', 'prioritized')).toBe(0);
    }
  });

  for (const tz of ZONES) {
    it(`${tz}: reconciling during November 7 (the repeated hour included) never moves the night's run, so no second 01:30 is added`, async () => {
      const q = syncQueueOn(newPrefix());
      // The scheduler as it stands on the evening of Nov 6: next run, the first 01:30 of Nov 7.
      const firstFire = await upsertNightly(q, tz, Date.parse('2027-11-06T17:00:00Z'));
      expect(wall(firstFire, tz)).toBe('2027-11-07 01:30');
      // Reconciles of the same pattern and zone leave it alone. (A fresh upsert "now", in the
      // repeated hour, would schedule the second 01:30: BullMQ computes the next run from now.)
      for (let i = 0; i < 3; i++) await reconcileSchedulers(deps(q));
      expect((await q.getJobScheduler(schedulerId(tz)))?.next).toBe(firstFire);
      expect((await q.getDelayed()).map((j) => j.id)).toContain(
        `repeat:${schedulerId(tz)}:${firstFire}`,
      );
      expect(
        (await q.getDelayed()).filter((j) => String(j.id).includes(schedulerId(tz))),
      ).toHaveLength(1);
    });
  }

  it('a reconcile while a night’s job is due (no worker has taken it yet) does not drop that night', async () => {
    // At 01:30 the night's delayed job becomes due; until a worker promotes and takes it (a worker
    // deploy, a crash loop, KTS_ROLES split across processes), it stays in the queue. Every
    // scheduler process reconciles every KTS_SCHEDULER_REFRESH_MS; that must not remove it.
    const prefix = newPrefix();
    const dueAt = Date.now() + 1_500;
    // A scheduler set up earlier whose fire time is `dueAt` (a repeat strategy stands in for the
    // clock reaching 01:30: same id, template and pattern as the product's).
    const earlier = syncQueueOn(prefix, { repeatStrategy: () => dueAt });
    await upsertNightly(earlier, NY);
    const id = `repeat:${schedulerId(NY)}:${dueAt}`;
    expect((await earlier.getDelayed()).map((j) => j.id)).toEqual([id]);
    await new Promise((r) => setTimeout(r, dueAt - Date.now() + 300));

    const q = syncQueueOn(prefix);
    await reconcileSchedulers(deps(q));
    const job = await q.getJob(id);
    expect(
      job,
      `the nightly job due at ${new Date(dueAt).toISOString()} was removed by the reconcile`,
    ).toBeDefined();
    expect(await job!.getState()).toMatch(/^(delayed|wait)$/);
  });
});

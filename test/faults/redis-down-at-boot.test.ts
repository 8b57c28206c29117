import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestDatabase, eventually, testEnv } from '../support/context.ts';
import { NOW, YEAR } from '../support/county.ts';
import { cleanUp, keepTail, onCleanup, spawnExchange } from '../support/processes.ts';
import { freePort, PrivateRedis } from '../support/servers.ts';

afterEach(cleanUp);

/**
 * A process that starts while Redis is away (a failover during a deploy) still serves: it answers
 * 202 for events, because they are durable in Postgres, and /readyz says Redis is missing. When
 * Redis comes up, its workers connect and the waiting events apply: nobody restarts anything.
 */
describe('Redis down when the exchange starts', () => {
  it('serves at once, takes events durably, and applies them when Redis arrives', async () => {
    const database = await createTestDatabase();
    onCleanup(() => database.drop());
    const redisPort = await freePort(); // nothing listens here yet
    const httpPort = await freePort();
    const proc = spawnExchange(
      testEnv(database.url, `kts-test-boot-${redisPort}`, {
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        PORT: String(httpPort),
        KTS_NOW: NOW,
        KTS_SWEEP_INTERVAL_MS: '500',
        KTS_SWEEP_AFTER_MS: '500',
      }),
    );
    const stderr = keepTail(proc.stderr);
    const base = `http://127.0.0.1:${httpPort}`;
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(base + path, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };

    // Serving within seconds, with no Redis at all.
    await eventually(
      async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok,
      15_000,
      100,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; stderr: ${stderr()}`);
    });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/Redis is not connected/);

    for (const [path, body] of [
      [
        '/v1/schools/HS1',
        {
          name: 'Bourbon County High',
          kind: 'high_school',
          districtId: 'D-017',
          timezone: 'America/New_York',
        },
      ],
      [
        '/v1/schools/ATC1',
        {
          name: 'Bourbon County ATC',
          kind: 'atc',
          districtId: 'D-017',
          timezone: 'America/New_York',
        },
      ],
      [
        `/v1/tech-centers/ATC1/sections/${YEAR}/ATC1-WLD-101`,
        { courseCode: '480101', title: 'Welding I', credits: 1, term: 'year' },
      ],
      [
        '/v1/students/1000000001',
        { homeSchoolId: 'HS1', firstName: 'Ada', lastName: 'Byron', gradeLevel: 11 },
      ],
    ] as const) {
      expect((await call('PUT', path, body)).status).toBe(200);
    }
    const event = {
      type: 'enrollment-changed',
      schoolId: 'HS1',
      eventId: 'boot-1',
      occurredAt: '2027-01-04T08:00:00-05:00',
      schoolYear: YEAR,
      studentId: '1000000001',
      ktsCourseNumber: 'ATC1-WLD-101',
      action: 'add',
      effectiveDate: '2027-01-04',
      hsPeriods: [1, 2, 3],
    };
    const posted = await call('POST', '/v1/events', event);
    expect(posted.status).toBe(202);
    expect((await call('GET', '/v1/events/boot-1?schoolId=HS1')).body.status).toBe('pending');

    // Redis arrives; the workers connect, the sweeper enqueues the waiting event, it applies once.
    const redis = new PrivateRedis(redisPort);
    onCleanup(() => redis.stop());
    await redis.start();
    const applied = await eventually(async () => {
      const r = await call('GET', '/v1/events/boot-1?schoolId=HS1');
      return r.body.status === 'applied' ? r.body : null;
    }, 30_000);
    expect(applied.status).toBe('applied');
    const roster = await call('GET', `/v1/tech-centers/ATC1/rosters/${YEAR}/ATC1-WLD-101`);
    expect((roster.body.students as unknown[]).length).toBe(1);
    await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, 15_000);
    expect(proc.exitCode).toBeNull();
  }, 90_000);
});

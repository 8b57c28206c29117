import { sql } from 'kysely';
import type { Redis } from 'ioredis';
import type { Db } from '../shared/db/client.ts';
import { isMigrated } from '../shared/db/migrate.ts';
import type { Role } from '../shared/config.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, r) =>
      setTimeout(() => r(new Error(`no answer within ${ms} ms`)), ms).unref(),
    ),
  ]);

async function check(name: string, fn: () => Promise<string>): Promise<Check> {
  try {
    return { name, ok: true, detail: await within(fn(), 2_000) };
  } catch (err) {
    return { name, ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Readiness for the roles this process runs (api.md, "Operations"): Postgres reachable and
 * migrated for every role; Redis reachable with `noeviction` for workers and the scheduler, since
 * any eviction policy can silently drop jobs.
 */
export async function readiness(opts: {
  db: Db;
  redis: Redis | null;
  roles: readonly Role[];
}): Promise<{ ok: boolean; checks: Check[] }> {
  const checks: Promise<Check>[] = [
    check('postgres', async () => {
      await sql`select 1`.execute(opts.db);
      return 'reachable';
    }),
    check('migrations', async () => {
      if (!(await isMigrated(opts.db)))
        throw new Error('migrations are not all applied (npm run migrate)');
      return 'up to date';
    }),
  ];
  const needsRedis = opts.roles.includes('workers') || opts.roles.includes('scheduler');
  if (opts.redis && needsRedis) {
    const redis = opts.redis;
    checks.push(
      check('redis', async () => {
        // A connection still being made (the process just started) gets a moment to finish.
        if (
          redis.status === 'connecting' ||
          redis.status === 'connect' ||
          redis.status === 'wait'
        ) {
          await new Promise<void>((resolve) => {
            const done = () => resolve();
            redis.once('ready', done);
            setTimeout(() => {
              redis.off('ready', done);
              resolve();
            }, 1_500).unref();
          });
        }
        if (redis.status !== 'ready') {
          throw new Error(
            `Redis is not connected (connection ${redis.status}); workers and the scheduler need it`,
          );
        }
        // INFO, not CONFIG GET: managed Redis services often refuse CONFIG.
        const info = await redis.info('memory');
        const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? 'unknown';
        if (policy !== 'noeviction')
          throw new Error(
            `maxmemory-policy is ${policy}; BullMQ needs noeviction or Redis may drop jobs`,
          );
        return 'reachable, maxmemory-policy noeviction';
      }),
    );
  }
  const results = await Promise.all(checks);
  return { ok: results.every((c) => c.ok), checks: results };
}

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../shared/config.ts';
import { createDb, type Db } from '../../shared/db/client.ts';
import { createLogger } from '../../shared/logger.ts';
import type { DestinationStream } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import { startExchange, type Exchange } from '../../infra/exchange.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

const rand = () => randomBytes(4).toString('hex');

export function dbUrl(base: string, name: string) {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh database cloned from the migrated template: one per test file (or per test that needs one). */
export async function createTestDatabase(): Promise<{
  url: string;
  name: string;
  drop: () => Promise<void>;
}> {
  const base = inject('databaseUrl');
  // The template's pid keeps names unique per run; global teardown drops leftovers by this prefix.
  const name = `kts_t_${inject('templateDb').split('_')[2]}_${rand()}`;
  const admin = new pg.Client({ connectionString: dbUrl(base, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${inject('templateDb')}`);
  } finally {
    await admin.end();
  }
  return {
    url: dbUrl(base, name),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: dbUrl(base, 'postgres') });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export function testEnv(
  databaseUrl: string,
  prefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: inject('redisUrl'),
    KTS_ADMIN_TOKEN: ADMIN_TOKEN,
    KTS_QUEUE_PREFIX: prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    KTS_MIGRATE_ON_START: 'false',
    PORT: '0',
    HOST: '127.0.0.1',
    ...extra,
  };
}

/** Delete only this test's keys (never FLUSHALL: the Redis is shared). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const r = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

export interface InjectResult {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Record<string, string | string[] | number | undefined>;
}

export interface TestExchange {
  exchange: Exchange;
  config: Config;
  db: Db;
  prefix: string;
  /** A request through the real HTTP stack (fastify inject). */
  api(
    method: string,
    url: string,
    opts?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<InjectResult>;
  close(): Promise<void>;
}

/** The whole exchange in-process on a fresh database and queue prefix: API, workers, sweeper. */
export async function startTestExchange(
  opts: {
    /** Listen on a real port (PORT 0: a free one) instead of inject-only. */
    listen?: boolean;
    env?: Record<string, string>;
    clock?: Clock;
    /** Where the exchange's log lines go (default stdout at LOG_LEVEL). */
    logTo?: DestinationStream;
    database?: { url: string; drop: () => Promise<void> };
  } = {},
): Promise<TestExchange> {
  const database = opts.database ?? (await createTestDatabase());
  const prefix = `kts-test-${rand()}`;
  const config = loadConfig(testEnv(database.url, prefix, opts.env));
  const log = createLogger(config.LOG_LEVEL, 'kts', opts.logTo);
  const exchange = await startExchange(config, log, {
    clock: opts.clock,
    listen: opts.listen ?? false,
  });
  const db = createDb({ connectionString: database.url, max: 4 });
  return {
    exchange,
    config,
    db,
    prefix,
    async api(method, url, o = {}) {
      const token = o.token === undefined ? ADMIN_TOKEN : o.token;
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const res = await exchange.app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(o.body !== undefined
          ? {
              payload: typeof o.body === 'string' ? o.body : JSON.stringify(o.body),
              headers: { 'content-type': 'application/json', ...headers },
            }
          : {}),
      });
      let body: unknown;
      try {
        body = res.body ? JSON.parse(res.body) : null;
      } catch {
        body = res.body;
      }
      return { status: res.statusCode, body, headers: res.headers };
    },
    async close() {
      await exchange.close();
      await db.destroy();
      await deleteRedisPrefix(prefix);
      if (!opts.database) await database.drop();
    },
  };
}

/** Poll until `fn` returns a truthy value (for work a real worker does asynchronously). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

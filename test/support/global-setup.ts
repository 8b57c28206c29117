import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { migrateToLatest } from '../../shared/db/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    databaseUrl: string;
    templateDb: string;
  }
}

/**
 * Real services only. REDIS_URL / DATABASE_URL when set (CI, this machine); otherwise containers
 * when a Docker engine answers; otherwise the run fails with what to do. Never a silent skip.
 */
async function resolveServices(): Promise<{
  redisUrl: string;
  databaseUrl: string;
  stop: () => Promise<void>;
}> {
  if (process.env.REDIS_URL && process.env.DATABASE_URL) {
    return {
      redisUrl: process.env.REDIS_URL,
      databaseUrl: process.env.DATABASE_URL,
      stop: async () => {},
    };
  }
  let dockerError: unknown;
  try {
    // Imported lazily: testcontainers is only for machines with a Docker engine.
    const tc = await import('testcontainers');
    await tc.getContainerRuntimeClient();
  } catch (err) {
    dockerError = err;
  }
  if (dockerError !== undefined) {
    // No engine: the services `npm run services` (and the demo) make sure of, at their defaults.
    const local = {
      redisUrl: 'redis://127.0.0.1:6379',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/kts',
    };
    if (await answers(local.redisUrl, local.databaseUrl)) {
      console.log(
        `tests: REDIS_URL/DATABASE_URL unset and no Docker engine; using ${local.redisUrl} and ${local.databaseUrl}`,
      );
      return { ...local, stop: async () => {} };
    }
    throw new Error(
      `No Redis/Postgres for the tests: set REDIS_URL and DATABASE_URL, or run "npm run services" (Redis on 6379, ` +
        `Postgres on 5432 with database kts), or start a Docker engine for testcontainers. ` +
        `(${dockerError instanceof Error ? dockerError.message : String(dockerError)})`,
      { cause: dockerError },
    );
  }
  const { RedisContainer } = await import('@testcontainers/redis');
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const [redis, postgres] = await Promise.all([
    new RedisContainer('redis:7-alpine')
      .withCommand(['redis-server', '--maxmemory-policy', 'noeviction'])
      .start(),
    new PostgreSqlContainer('postgres:16-alpine').start(),
  ]);
  return {
    redisUrl: redis.getConnectionUrl(),
    databaseUrl: postgres.getConnectionUri(),
    stop: async () => {
      await Promise.all([redis.stop(), postgres.stop()]);
    },
  };
}

async function answers(redisUrl: string, databaseUrl: string): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const r = new Redis(redisUrl, {
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    lazyConnect: true,
    connectTimeout: 1000,
  });
  const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 1000 });
  try {
    await r.connect();
    await r.ping();
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
    await c.end().catch(() => {});
  }
}

export const adminUrl = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

export default async function setup(project: TestProject) {
  const services = await resolveServices();
  // A template migrated once per run; each test file clones it (CREATE DATABASE ... TEMPLATE).
  const templateDb = `kts_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl(services.databaseUrl, 'postgres') });
  await admin.connect();
  await admin.query(`create database ${templateDb}`);
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: adminUrl(services.databaseUrl, templateDb), max: 1 }),
    }),
  });
  await migrateToLatest(db);
  await db.destroy();

  project.provide('redisUrl', services.redisUrl);
  project.provide('databaseUrl', services.databaseUrl);
  project.provide('templateDb', templateDb);

  return async () => {
    const leftovers = await admin.query<{ datname: string }>(
      `select datname from pg_database where datname like 'kts_t_${process.pid}_%' or datname = $1`,
      [templateDb],
    );
    for (const { datname } of leftovers.rows)
      await admin.query(`drop database if exists ${datname} with (force)`);
    await admin.end();
    await services.stop();
  };
}

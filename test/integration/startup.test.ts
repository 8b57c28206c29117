import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.ts';
import { createDb } from '../../shared/db/client.ts';
import { isMigrated, migrateToLatest } from '../../shared/db/migrate.ts';
import { ADMIN_TOKEN, dbUrl } from '../support/context.ts';
import { spawnTsx } from '../support/processes.ts';

const TABLES = [
  'attendance',
  'calendars',
  'credentials',
  'enrollment_actions',
  'event_rejections',
  'events',
  'history',
  'roster_spans',
  'schools',
  'sections',
  'students',
  'waivers',
];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a script of the project in a child process with exactly `env` (plus PATH and HOME). */
function run(script: string, env: Record<string, string>, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawnTsx(script, { HOME: process.env.HOME ?? '/tmp', ...env });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const validEnv = () => ({
  DATABASE_URL: inject('databaseUrl'),
  REDIS_URL: inject('redisUrl'),
  KTS_ADMIN_TOKEN: ADMIN_TOKEN,
  LOG_LEVEL: 'silent',
});

describe('a bad environment stops the process with a message naming the variable', () => {
  it('PORT=notaport exits 2 naming PORT', async () => {
    const r = await run('infra/main.ts', { ...validEnv(), PORT: 'notaport' });
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('PORT');
    expect(r.stderr).not.toContain(ADMIN_TOKEN);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  });

  it('a missing KTS_ADMIN_TOKEN exits 2 naming it', async () => {
    const { KTS_ADMIN_TOKEN: _t, ...env } = validEnv();
    const r = await run('infra/main.ts', { ...env, PORT: '0' });
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('KTS_ADMIN_TOKEN');
    expect(r.stderr).toMatch(/KTS_ADMIN_TOKEN is required/);
  });

  it('KTS_NOW with NODE_ENV=production exits 2 naming KTS_NOW', async () => {
    const r = await run('infra/main.ts', {
      ...validEnv(),
      PORT: '0',
      NODE_ENV: 'production',
      KTS_NOW: '2027-01-20T15:00:00.000Z',
    });
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('KTS_NOW');
  });
});

describe('loadConfig', () => {
  const env = (over: Record<string, string | undefined> = {}) => ({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/kts',
    REDIS_URL: 'redis://127.0.0.1:6379',
    KTS_ADMIN_TOKEN: ADMIN_TOKEN,
    ...over,
  });
  const failure = (e: Record<string, string | undefined>): ConfigError => {
    try {
      loadConfig(e);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('loadConfig accepted the environment');
  };

  it('accepts a valid environment with defaults', () => {
    const c = loadConfig(env());
    expect(c.PORT).toBe(3000);
    expect(c.KTS_QUEUE_PREFIX).toBe('kts');
    expect(c.KTS_ROLES).toEqual(['api', 'workers', 'scheduler']);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the variable it refuses', () => {
    expect(failure(env({ PORT: 'notaport' })).message).toMatch(/\bPORT\b/);
    expect(failure(env({ PORT: '70000' })).message).toMatch(/\bPORT\b/);
    expect(failure(env({ KTS_ADMIN_TOKEN: undefined })).message).toContain(
      'KTS_ADMIN_TOKEN is required',
    );
    expect(failure(env({ KTS_ADMIN_TOKEN: '' })).message).toContain('KTS_ADMIN_TOKEN is required');
    expect(failure(env({ KTS_ADMIN_TOKEN: 'short' })).message).toMatch(
      /KTS_ADMIN_TOKEN must be at least 24 characters/,
    );
    expect(failure(env({ DATABASE_URL: 'mysql://x/y' })).message).toMatch(/\bDATABASE_URL\b/);
    expect(failure(env({ REDIS_URL: 'http://x' })).message).toMatch(/\bREDIS_URL\b/);
    expect(failure(env({ KTS_ROLES: 'api,cron' })).message).toMatch(/\bKTS_ROLES\b.*cron/);
    expect(failure(env({ KTS_QUEUE_PREFIX: 'a:b' })).message).toMatch(/\bKTS_QUEUE_PREFIX\b/);
    expect(failure(env({ KTS_NOW: 'yesterday' })).message).toMatch(/\bKTS_NOW\b/);
  });

  it('names every broken variable at once', () => {
    const m = failure(env({ PORT: 'x', KTS_ADMIN_TOKEN: undefined })).message;
    expect(m).toMatch(/\bPORT\b/);
    expect(m).toMatch(/\bKTS_ADMIN_TOKEN\b/);
  });

  it('refuses KTS_NOW when NODE_ENV=production, allows it otherwise', () => {
    const now = '2027-01-20T15:00:00.000Z';
    expect(failure(env({ NODE_ENV: 'production', KTS_NOW: now })).message).toMatch(/KTS_NOW/);
    expect(loadConfig(env({ NODE_ENV: 'test', KTS_NOW: now })).KTS_NOW).toBe(now);
    expect(loadConfig(env({ NODE_ENV: 'production' })).KTS_NOW).toBeUndefined();
  });
});

describe('several processes migrating one empty database at once', () => {
  const created: string[] = [];
  const admin = () => new pg.Client({ connectionString: dbUrl(inject('databaseUrl'), 'postgres') });

  /** An empty database (not from the template); the global teardown's prefix catches leftovers. */
  async function emptyDatabase(): Promise<string> {
    const pid = inject('templateDb').split('_')[2];
    const name = `kts_t_${pid}_mig_${randomBytes(4).toString('hex')}`;
    const a = admin();
    await a.connect();
    try {
      await a.query(`create database ${name}`);
    } finally {
      await a.end();
    }
    created.push(name);
    return dbUrl(inject('databaseUrl'), name);
  }

  afterAll(async () => {
    const a = admin();
    await a.connect();
    try {
      for (const name of created) await a.query(`drop database if exists ${name} with (force)`);
    } finally {
      await a.end();
    }
  });

  /** `applied`: the names the runs reported applying, in order, each exactly once across all runs. */
  async function expectMigratedOnce(url: string, applied: string[]) {
    expect(applied[0]).toBe('0001_foundation');
    expect(new Set(applied).size).toBe(applied.length);
    const db = createDb({ connectionString: url, max: 1 });
    try {
      const ran = await sql<{
        name: string;
      }>`select name from kysely_migration order by name`.execute(db);
      expect(ran.rows.map((r) => r.name)).toEqual([...applied].sort());
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables
        where table_schema = 'public' and table_type = 'BASE TABLE'
        order by table_name`.execute(db);
      const names = tables.rows.map((r) => r.table_name);
      for (const tname of TABLES) expect(names).toContain(tname);
      expect(await isMigrated(db)).toBe(true);
      const n = await sql<{ n: number }>`select count(*)::int as n from events`.execute(db);
      expect(n.rows[0]!.n).toBe(0);
    } finally {
      await db.destroy();
    }
  }

  it('two migrateToLatest calls from separate pools both succeed, each migration once', async () => {
    const url = await emptyDatabase();
    let applied: string[];
    const a = createDb({ connectionString: url, max: 2, applicationName: 'mig-a' });
    const b = createDb({ connectionString: url, max: 2, applicationName: 'mig-b' });
    try {
      const results = await Promise.all([migrateToLatest(a), migrateToLatest(b)]);
      for (const r of results) expect(r.error).toBeUndefined();
      // One run applied everything (it held the lock), the other found nothing left to do.
      const sizes = results.map((r) => (r.results ?? []).length).sort();
      expect(sizes[0]).toBe(0);
      expect(sizes[1]).toBeGreaterThanOrEqual(1);
      const ran = results.flatMap((r) => r.results ?? []);
      for (const m of ran) expect(m).toMatchObject({ direction: 'Up', status: 'Success' });
      applied = ran.map((m) => m.migrationName);
      // A third run later finds nothing to do.
      expect((await migrateToLatest(a)).results).toEqual([]);
    } finally {
      await a.destroy();
      await b.destroy();
    }
    await expectMigratedOnce(url, applied);
  });

  it('two `infra/migrate.ts` processes started at once both exit 0, each migration once', async () => {
    const url = await emptyDatabase();
    const env = { DATABASE_URL: url };
    const [r1, r2] = await Promise.all([
      run('infra/migrate.ts', env),
      run('infra/migrate.ts', env),
    ]);
    for (const r of [r1!, r2!]) {
      expect(r.signal).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
    }
    // One process applied every migration, the other waited on the lock and found none left.
    const outs = [r1!.stdout.trim(), r2!.stdout.trim()].sort();
    expect(outs[1]).toBe('database is up to date');
    const lines = outs[0]!.split('\n');
    for (const l of lines) expect(l).toMatch(/^applied: \S+$/);
    await expectMigratedOnce(
      url,
      lines.map((l) => l.slice('applied: '.length)),
    );
  });
});

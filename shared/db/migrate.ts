import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import * as m0001 from './migrations/0001_foundation.ts';
import * as m0002 from './migrations/0002_grades_codings_rules.ts';
import * as m0003 from './migrations/0003_sync_runs.ts';

const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_grades_codings_rules': m0002,
  '0003_sync_runs': m0003,
};

// One number for the whole exchange: every process that starts takes the same session lock.
const MIGRATION_LOCK = 7_140_001;

/**
 * Migrate to the latest version. Several processes may start at once: a session-level advisory
 * lock around the whole run (Kysely's own lock is taken only after it creates its bookkeeping
 * tables, and two concurrent `create table if not exists` can still collide in pg_type).
 */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
    try {
      const migrator = new Migrator({
        db: conn,
        provider: { getMigrations: async () => migrations },
      });
      const result = await migrator.migrateToLatest();
      if (result.error)
        throw result.error instanceof Error ? result.error : new Error(String(result.error));
      return result;
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
    }
  });
}

/** True when every migration this build knows has run (readiness). */
export async function isMigrated(db: Kysely<any>): Promise<boolean> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const list = await migrator.getMigrations();
  return list.every((m) => m.executedAt !== undefined);
}

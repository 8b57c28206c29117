import { sql, type Kysely } from 'kysely';

// The nightly unknown-attendance sync's run reports and its once-a-night key. Frozen: Kysely<any>.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sync_runs')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('scheduled', 'manual')`))
    // One scheduled run per time zone and night, however many nightly jobs fire.
    .addColumn('schedule_key', 'text', (c) => c.unique())
    .addColumn('requested_date', 'date')
    .addColumn('requested_school_id', 'text')
    .addColumn('requested_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('sync_runs_created_idx')
    .on('sync_runs')
    .columns(['created_at', 'id'])
    .execute();

  await db.schema
    .createTable('sync_run_schools')
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('sync_runs.id'))
    .addColumn('high_school_id', 'text', (c) => c.notNull())
    .addColumn('date', 'date', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`status in ('pending', 'running', 'completed', 'completed_with_errors', 'failed', 'held', 'skipped')`,
        ),
    )
    .addColumn('candidates', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('already_present', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('errors', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('detail', 'text')
    .addColumn('released', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('finished_at', 'timestamptz')
    .addPrimaryKeyConstraint('sync_run_schools_pk', ['run_id', 'high_school_id'])
    .execute();
  await db.schema
    .createIndex('sync_run_schools_date_idx')
    .on('sync_run_schools')
    .columns(['date'])
    .execute();
  await db.schema
    .createIndex('sync_run_schools_school_idx')
    .on('sync_run_schools')
    .columns(['high_school_id', 'finished_at'])
    .execute();

  // The unique run key: one scheduled sync per (high school, covered date).
  await db.schema
    .createTable('sync_nights')
    .addColumn('high_school_id', 'text', (c) => c.notNull())
    .addColumn('date', 'date', (c) => c.notNull())
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('sync_runs.id'))
    .addPrimaryKeyConstraint('sync_nights_pk', ['high_school_id', 'date'])
    .execute();

  await db.schema
    .createIndex('attendance_unknown_idx')
    .on('attendance')
    .columns(['date'])
    .where(sql.ref('excuse'), '=', 'unknown')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('attendance_unknown_idx').ifExists().execute();
  for (const t of ['sync_nights', 'sync_run_schools', 'sync_runs'])
    await db.schema.dropTable(t).ifExists().execute();
}

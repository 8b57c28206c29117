import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and import no app code, so a later change to the app
// cannot change what an old migration did.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('schools')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('high_school', 'atc', 'ctc')`))
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('timezone', 'text', (c) => c.notNull())
    .addColumn('attendance_sync', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('calendars')
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('school_year', 'text', (c) => c.notNull())
    .addColumn('first_day', 'date', (c) => c.notNull())
    .addColumn('last_day', 'date', (c) => c.notNull())
    .addColumn('non_instructional_days', 'jsonb', (c) => c.notNull())
    .addColumn('periods', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('calendars_pk', ['school_id', 'school_year'])
    .execute();

  await db.schema
    .createTable('sections')
    .addColumn('school_year', 'text', (c) => c.notNull())
    .addColumn('kts_course_number', 'text', (c) => c.notNull())
    .addColumn('tech_school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('course_code', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('credits', 'numeric(5, 2)', (c) => c.notNull())
    .addColumn('term', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('sections_pk', ['school_year', 'kts_course_number'])
    .execute();
  await db.schema
    .createIndex('sections_kts_idx')
    .on('sections')
    .column('kts_course_number')
    .execute();

  await db.schema
    .createTable('students')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('home_school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('grade_level', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('students_home_idx')
    .on('students')
    .column('home_school_id')
    .execute();

  await db.schema
    .createTable('credentials')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) =>
      c.notNull().check(sql`role in ('school', 'state_admin', 'ops')`),
    )
    .addColumn('school_id', 'text', (c) => c.references('schools.id'))
    .addColumn('label', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addCheckConstraint('credentials_school_role', sql`(role = 'school') = (school_id is not null)`)
    .execute();

  // The durable intake: an event is acknowledged only once its row is committed here. Redis is
  // only the work queue; the sweeper re-enqueues whatever is still pending.
  await db.schema
    .createTable('events')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('event_id', sql`text collate "C"`, (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('body', 'jsonb', (c) => c.notNull())
    .addColumn('body_hash', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('record_count', 'integer', (c) => c.notNull())
    .addColumn('credential_id', 'uuid')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending', 'applied', 'partially_applied', 'rejected')`),
    )
    .addColumn('applied_at', 'timestamptz')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addUniqueConstraint('events_identity', ['school_id', 'event_id'])
    .execute();
  await sql`create index events_pending_idx on events (seq) where status = 'pending'`.execute(db);

  await db.schema
    .createTable('event_rejections')
    .addColumn('event_seq', 'bigint', (c) => c.notNull().references('events.seq'))
    .addColumn('record_index', 'integer', (c) => c.notNull())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('student_id', 'text')
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_rejections_pk', ['event_seq', 'record_index'])
    .execute();
  await db.schema
    .createIndex('event_rejections_school_idx')
    .on('event_rejections')
    .columns(['school_id', 'at', 'event_seq'])
    .execute();

  // Every add or drop the high school sent, keyed by its effective date; roster spans are rebuilt
  // from these, so the spans never depend on the order the events arrived in.
  await db.schema
    .createTable('enrollment_actions')
    .addColumn('school_year', 'text', (c) => c.notNull())
    .addColumn('kts_course_number', 'text', (c) => c.notNull())
    .addColumn('student_id', 'text', (c) => c.notNull())
    .addColumn('effective_date', 'date', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('hs_periods', sql`integer[]`, (c) => c.notNull())
    .addColumn('home_school_id', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('event_id', sql`text collate "C"`, (c) => c.notNull())
    .addColumn('event_seq', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('enrollment_actions_pk', [
      'school_year',
      'kts_course_number',
      'student_id',
      'effective_date',
    ])
    .execute();

  await db.schema
    .createTable('roster_spans')
    .addColumn('school_year', 'text', (c) => c.notNull())
    .addColumn('kts_course_number', 'text', (c) => c.notNull())
    .addColumn('student_id', 'text', (c) => c.notNull())
    .addColumn('start_date', 'date', (c) => c.notNull())
    .addColumn('end_date', 'date')
    .addColumn('hs_periods', sql`integer[]`, (c) => c.notNull())
    .addColumn('tech_school_id', 'text', (c) => c.notNull())
    .addColumn('home_school_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('roster_spans_pk', [
      'school_year',
      'kts_course_number',
      'student_id',
      'start_date',
    ])
    .execute();
  await db.schema
    .createIndex('roster_spans_student_idx')
    .on('roster_spans')
    .columns(['student_id', 'school_year'])
    .execute();

  await db.schema
    .createTable('attendance')
    .addColumn('student_id', 'text', (c) => c.notNull())
    .addColumn('kts_course_number', 'text', (c) => c.notNull())
    .addColumn('date', 'date', (c) => c.notNull())
    .addColumn('school_year', 'text', (c) => c.notNull())
    .addColumn('tech_school_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('excuse', 'text')
    .addColumn('code', 'text')
    .addColumn('minutes_absent', 'integer')
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('event_id', sql`text collate "C"`, (c) => c.notNull())
    .addColumn('event_seq', 'bigint', (c) => c.notNull())
    .addColumn('credential_id', 'uuid')
    .addColumn('applied_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('attendance_pk', ['student_id', 'kts_course_number', 'date'])
    .execute();
  await db.schema
    .createIndex('attendance_date_idx')
    .on('attendance')
    .columns(['date', 'student_id'])
    .execute();

  // Every change to a student's exchanged records and every disclosure of them to another school
  // (FERPA 34 CFR 99.32).
  await db.schema
    .createTable('history')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('student_id', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('actor_school_id', 'text')
    .addColumn('actor_credential_id', 'uuid')
    .addColumn('actor_job', 'text')
    .addColumn('event_id', 'text')
    .addColumn('record', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .addColumn('disclosed_to', 'text')
    .execute();
  await db.schema
    .createIndex('history_student_idx')
    .on('history')
    .columns(['student_id', 'at', 'id'])
    .execute();

  await db.schema
    .createTable('waivers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('school_year', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'approved', 'denied')`),
    )
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('decided_at', 'timestamptz')
    .addUniqueConstraint('waivers_one_per_year', ['school_id', 'school_year'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'waivers',
    'history',
    'attendance',
    'roster_spans',
    'enrollment_actions',
    'event_rejections',
    'events',
    'credentials',
    'students',
    'sections',
    'calendars',
    'schools',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

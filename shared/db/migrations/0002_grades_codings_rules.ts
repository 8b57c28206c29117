import { sql, type Kysely } from 'kysely';

// Grades, high-school attendance records (codings now, the nightly sync's unknowns next) and
// per-school eligibility rules. Frozen: Kysely<any>, no app imports.

export async function up(db: Kysely<any>): Promise<void> {
  // Posted grades from both sources. The natural key makes a correction replace, not duplicate.
  await db.schema
    .createTable('grades')
    .addColumn('student_id', 'text', (c) => c.notNull())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) =>
      c.notNull().check(sql`source in ('high_school', 'tech_center')`),
    )
    .addColumn('course_key', 'text', (c) => c.notNull())
    .addColumn('school_year', 'text', (c) => c.notNull())
    .addColumn('term', 'text', (c) => c.notNull())
    .addColumn('grade_type', 'text', (c) => c.notNull())
    .addColumn('course_code', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('credits', 'numeric(5, 2)', (c) => c.notNull())
    .addColumn('course_term', 'text')
    .addColumn('letter_grade', 'text')
    .addColumn('numeric_grade', 'numeric(5, 2)')
    .addColumn('credits_earned', 'numeric(5, 2)')
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('event_id', sql`text collate "C"`, (c) => c.notNull())
    .addColumn('event_seq', 'bigint', (c) => c.notNull())
    .addColumn('posted_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('grades_pk', [
      'student_id',
      'school_id',
      'course_key',
      'school_year',
      'term',
      'grade_type',
    ])
    .execute();

  // The high school's own period records for its students' tech periods: unknowns the nightly sync
  // copies (issue 4) and the clerks' codings. A coded record is never overwritten by the sync.
  await db.schema
    .createTable('hs_attendance')
    .addColumn('student_id', 'text', (c) => c.notNull())
    .addColumn('date', 'date', (c) => c.notNull())
    .addColumn('period', 'integer', (c) => c.notNull())
    .addColumn('home_school_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text')
    .addColumn('excuse', 'text', (c) => c.notNull())
    .addColumn('code', 'text')
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('sync', 'high_school')`))
    .addColumn('tech_school_id', 'text')
    .addColumn('kts_course_number', 'text')
    .addColumn('synced_at', 'timestamptz')
    .addColumn('sync_run_id', 'uuid')
    .addColumn('coded_at', 'timestamptz')
    .addColumn('coded_occurred_at', 'timestamptz')
    .addColumn('coded_event_id', sql`text collate "C"`)
    .addColumn('coded_event_seq', 'bigint')
    .addPrimaryKeyConstraint('hs_attendance_pk', ['student_id', 'date', 'period'])
    .execute();
  await db.schema
    .createIndex('hs_attendance_school_idx')
    .on('hs_attendance')
    .columns(['home_school_id', 'date'])
    .execute();

  await db.schema
    .createTable('eligibility_rules')
    .addColumn('school_id', 'text', (c) => c.primaryKey().references('schools.id'))
    .addColumn('passing_numeric_grade', 'numeric(5, 2)', (c) => c.notNull())
    .addColumn('failing_letter_grades', 'jsonb', (c) => c.notNull())
    .addColumn('max_failing_courses', 'integer', (c) => c.notNull())
    .addColumn('min_passing_courses', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createIndex('history_disclosed_idx')
    .on('history')
    .columns(['disclosed_to', 'at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('history_disclosed_idx').ifExists().execute();
  for (const t of ['eligibility_rules', 'hs_attendance', 'grades'])
    await db.schema.dropTable(t).ifExists().execute();
}

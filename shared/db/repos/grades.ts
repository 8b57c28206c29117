import { sql, type Transaction } from 'kysely';
import type { Executor } from '../client.ts';
import type { DB, GradesTable } from '../schema.ts';
import type { TranscriptGrade } from '../../domain/grading.ts';

export interface GradeBatch {
  schoolId: string;
  source: GradesTable['source'];
  courseKey: string;
  schoolYear: string;
  term: string;
  gradeType: GradesTable['grade_type'];
  courseCode: string;
  title: string;
  credits: number;
  courseTerm: string | null;
  occurredAt: string;
  eventId: string;
  eventSeq: number;
  postedAt: Date;
  rows: readonly {
    studentId: string;
    letterGrade: string | null;
    numericGrade: number | null;
    creditsEarned: number | null;
  }[];
}

const markColumns = [
  'student_id',
  'letter_grade',
  'numeric_grade',
  'credits_earned',
  'event_id',
  'occurred_at',
] as const;

export const currentGrades = (
  trx: Transaction<DB>,
  b: Pick<GradeBatch, 'schoolId' | 'courseKey' | 'schoolYear' | 'term' | 'gradeType'>,
  ids: readonly string[],
) =>
  trx
    .selectFrom('grades')
    .select(markColumns)
    .where('school_id', '=', b.schoolId)
    .where('course_key', '=', b.courseKey)
    .where('school_year', '=', b.schoolYear)
    .where('term', '=', b.term)
    .where('grade_type', '=', b.gradeType)
    .where(sql<boolean>`student_id = any(${ids as string[]}::text[])`)
    .execute();

/** One statement for the event's records; a correction replaces only when it is the later event. */
export async function upsertGrades(trx: Transaction<DB>, b: GradeBatch): Promise<string[]> {
  if (b.rows.length === 0) return [];
  const r = await sql<{ student_id: string }>`
    insert into grades (student_id, school_id, source, course_key, school_year, term, grade_type, course_code, title,
                        credits, course_term, letter_grade, numeric_grade, credits_earned, occurred_at, event_id,
                        event_seq, posted_at)
    select u.student_id, ${b.schoolId}, ${b.source}, ${b.courseKey}, ${b.schoolYear}, ${b.term}, ${b.gradeType},
           ${b.courseCode}, ${b.title}, ${b.credits}::numeric, ${b.courseTerm}, u.letter_grade, u.numeric_grade,
           u.credits_earned, ${b.occurredAt}::timestamptz, ${b.eventId}, ${b.eventSeq}::bigint, ${b.postedAt}::timestamptz
    from unnest(${b.rows.map((x) => x.studentId)}::text[], ${b.rows.map((x) => x.letterGrade)}::text[],
                ${b.rows.map((x) => x.numericGrade)}::numeric[], ${b.rows.map((x) => x.creditsEarned)}::numeric[])
         as u(student_id, letter_grade, numeric_grade, credits_earned)
    on conflict (student_id, school_id, course_key, school_year, term, grade_type) do update set
      course_code = excluded.course_code, title = excluded.title, credits = excluded.credits,
      course_term = excluded.course_term, letter_grade = excluded.letter_grade, numeric_grade = excluded.numeric_grade,
      credits_earned = excluded.credits_earned, occurred_at = excluded.occurred_at, event_id = excluded.event_id,
      event_seq = excluded.event_seq, posted_at = excluded.posted_at
    where (grades.occurred_at, grades.event_id) < (excluded.occurred_at, excluded.event_id)
    returning student_id`.execute(trx);
  return r.rows.map((x) => x.student_id);
}

/** A student's grades with the posting school's name and kind, optionally one year and term. */
export function gradesOf(
  db: Executor,
  studentId: string,
  q: { schoolYear?: string; term?: string } = {},
) {
  let query = db
    .selectFrom('grades as g')
    .innerJoin('schools as s', 's.id', 'g.school_id')
    .selectAll('g')
    .select(['s.name as school_name', 's.kind as school_kind'])
    .where('g.student_id', '=', studentId);
  if (q.schoolYear) query = query.where('g.school_year', '=', q.schoolYear);
  if (q.term) query = query.where('g.term', '=', q.term);
  return query
    .orderBy('g.school_year')
    .orderBy('g.source')
    .orderBy('g.title')
    .orderBy('g.term')
    .orderBy('g.grade_type')
    .execute();
}

export type GradeWithSchool = Awaited<ReturnType<typeof gradesOf>>[number];

export const toTranscriptGrade = (g: GradeWithSchool): TranscriptGrade => ({
  source: g.source,
  schoolId: g.school_id,
  schoolName: g.school_name,
  schoolKind: g.school_kind,
  courseKey: g.course_key,
  courseCode: g.course_code,
  title: g.title,
  letterGrade: g.letter_grade,
  numericGrade: g.numeric_grade,
  occurredAt: g.occurred_at.toISOString(),
  eventId: g.event_id,
  schoolYear: g.school_year,
  term: g.term,
  gradeType: g.grade_type,
  credits: g.credits,
  courseTerm: g.course_term,
  creditsEarned: g.credits_earned,
});

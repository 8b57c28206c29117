import type { Executor } from '../client.ts';
import type { Section } from '../schema.ts';

export interface SectionInput {
  schoolYear: string;
  ktsCourseNumber: string;
  techSchoolId: string;
  courseCode: string;
  title: string;
  credits: number;
  term: Section['term'];
}

/**
 * Publish or update a section. The number is unique statewide within a year, so the update only
 * applies when the same center owns it; `undefined` means another center already published it.
 */
export async function upsertSection(
  db: Executor,
  s: SectionInput,
  now: Date,
): Promise<Section | undefined> {
  return db
    .insertInto('sections')
    .values({
      school_year: s.schoolYear,
      kts_course_number: s.ktsCourseNumber,
      tech_school_id: s.techSchoolId,
      course_code: s.courseCode,
      title: s.title,
      credits: s.credits,
      term: s.term,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc
        .columns(['school_year', 'kts_course_number'])
        .doUpdateSet((eb) => ({
          course_code: eb.ref('excluded.course_code'),
          title: eb.ref('excluded.title'),
          credits: eb.ref('excluded.credits'),
          term: eb.ref('excluded.term'),
          updated_at: eb.ref('excluded.updated_at'),
        }))
        .where('sections.tech_school_id', '=', s.techSchoolId),
    )
    .returningAll()
    .executeTakeFirst();
}

export const getSection = (db: Executor, schoolYear: string, kts: string) =>
  db
    .selectFrom('sections')
    .selectAll()
    .where('school_year', '=', schoolYear)
    .where('kts_course_number', '=', kts)
    .executeTakeFirst();

export const sectionView = (s: Section) => ({
  schoolYear: s.school_year,
  ktsCourseNumber: s.kts_course_number,
  techSchoolId: s.tech_school_id,
  courseCode: s.course_code,
  title: s.title,
  credits: s.credits,
  term: s.term,
});

import type { Executor } from '../client.ts';
import { DEFAULT_ELIGIBILITY_RULE, type EligibilityRule } from '../../domain/grading.ts';

export async function ruleOf(db: Executor, schoolId: string): Promise<EligibilityRule> {
  const r = await db
    .selectFrom('eligibility_rules')
    .selectAll()
    .where('school_id', '=', schoolId)
    .executeTakeFirst();
  if (!r)
    return {
      ...DEFAULT_ELIGIBILITY_RULE,
      failingLetterGrades: [...DEFAULT_ELIGIBILITY_RULE.failingLetterGrades],
    };
  return {
    passingNumericGrade: r.passing_numeric_grade,
    failingLetterGrades: r.failing_letter_grades,
    maxFailingCourses: r.max_failing_courses,
    minPassingCourses: r.min_passing_courses,
  };
}

export async function upsertRule(
  db: Executor,
  schoolId: string,
  rule: EligibilityRule,
  now: Date,
): Promise<void> {
  await db
    .insertInto('eligibility_rules')
    .values({
      school_id: schoolId,
      passing_numeric_grade: rule.passingNumericGrade,
      failing_letter_grades: JSON.stringify(rule.failingLetterGrades),
      max_failing_courses: rule.maxFailingCourses,
      min_passing_courses: rule.minPassingCourses,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('school_id').doUpdateSet((eb) => ({
        passing_numeric_grade: eb.ref('excluded.passing_numeric_grade'),
        failing_letter_grades: eb.ref('excluded.failing_letter_grades'),
        max_failing_courses: eb.ref('excluded.max_failing_courses'),
        min_passing_courses: eb.ref('excluded.min_passing_courses'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
}

/**
 * Grade rules: passing and failing, the athletic-eligibility check, and transcript entries. Pure
 * functions over plain rows, so the rule table is tested on its own.
 */

export interface EligibilityRule {
  passingNumericGrade: number;
  failingLetterGrades: string[];
  maxFailingCourses: number;
  minPassingCourses: number;
}

/** api.md: the default when a school never set its rule is exactly this. */
export const DEFAULT_ELIGIBILITY_RULE: EligibilityRule = Object.freeze({
  passingNumericGrade: 60,
  failingLetterGrades: ['F'],
  maxFailingCourses: 0,
  minPassingCourses: 0,
}) as EligibilityRule;

export interface Mark {
  letterGrade: string | null;
  numericGrade: number | null;
}

/** A letter grade the rule lists, or a numeric grade below its threshold, fails. */
export function isFailing(rule: EligibilityRule, m: Mark): boolean {
  const letterFails =
    m.letterGrade !== null &&
    rule.failingLetterGrades.some((f) => f.toUpperCase() === m.letterGrade!.toUpperCase());
  const numberFails = m.numericGrade !== null && m.numericGrade < rule.passingNumericGrade;
  return letterFails || numberFails;
}

export const describeMark = (m: Mark) =>
  [m.letterGrade, m.numericGrade !== null ? String(m.numericGrade) : null]
    .filter((x) => x !== null)
    .join(' / ');

export interface GradedCourse extends Mark {
  source: 'high_school' | 'tech_center';
  schoolId: string;
  schoolName: string;
  courseKey: string;
  courseCode: string;
  title: string;
  occurredAt: string;
  eventId: string;
}

const later = (
  a: { occurredAt: string; eventId: string },
  b: { occurredAt: string; eventId: string },
) =>
  a.occurredAt > b.occurredAt ||
  (a.occurredAt === b.occurredAt &&
    Buffer.compare(Buffer.from(a.eventId), Buffer.from(b.eventId)) > 0);

/** Each course counts once, by its latest grade (occurredAt, then eventId bytewise). */
export function latestPerCourse<T extends GradedCourse>(grades: readonly T[]): T[] {
  const byCourse = new Map<string, T>();
  for (const g of grades) {
    const k = `${g.schoolId}\u0000${g.courseKey}`;
    const cur = byCourse.get(k);
    if (!cur || later(g, cur)) byCourse.set(k, g);
  }
  return [...byCourse.values()].sort((a, b) =>
    a.schoolId + a.title < b.schoolId + b.title ? -1 : 1,
  );
}

export interface EligibilityResult {
  eligible: boolean;
  passingCourses: number;
  failingCourses: number;
  reasons: string[];
}

/**
 * The home high school's rule over its own and the center's grades of one term together. Reasons
 * say in words which course at which school decided the answer.
 */
export function evaluateEligibility(
  rule: EligibilityRule,
  term: string,
  graded: readonly GradedCourse[],
): EligibilityResult {
  const courses = latestPerCourse(graded);
  const failing = courses.filter((c) => isFailing(rule, c));
  const passing = courses.length - failing.length;
  const reasons: string[] = [];
  for (const c of failing) {
    reasons.push(
      `Failing ${c.title} (${c.courseCode}) at ${c.schoolName} (${c.schoolId}) with ${describeMark(c)}.`,
    );
  }
  const tooManyFailing = failing.length > rule.maxFailingCourses;
  const tooFewPassing = passing < rule.minPassingCourses;
  if (tooManyFailing) {
    reasons.push(
      `${failing.length} failing course${failing.length === 1 ? '' : 's'} in ${term}; the rule allows at most ${rule.maxFailingCourses}.`,
    );
  }
  if (tooFewPassing)
    reasons.push(
      `${passing} passing course${passing === 1 ? '' : 's'} in ${term}; the rule requires at least ${rule.minPassingCourses}.`,
    );
  if (courses.length === 0)
    reasons.push(`No posted grades for ${term} yet, from the high school or a tech center.`);
  if (!tooManyFailing && !tooFewPassing && courses.length > 0) {
    reasons.push(
      `${passing} passing and ${failing.length} failing course${failing.length === 1 ? '' : 's'} in ${term}, within the rule.`,
    );
  }
  return {
    eligible: !tooManyFailing && !tooFewPassing,
    passingCourses: passing,
    failingCourses: failing.length,
    reasons,
  };
}

export interface TranscriptGrade extends GradedCourse {
  schoolYear: string;
  term: string;
  gradeType: 'grading_period' | 'semester' | 'final';
  credits: number;
  /** The section's term for tech courses ('year' | 'S1' | 'S2'); null for high-school courses. */
  courseTerm: string | null;
  creditsEarned: number | null;
  schoolKind: string;
}

export interface TranscriptEntry {
  schoolYear: string;
  courseCode: string;
  title: string;
  term: string;
  creditsAttempted: number;
  creditsEarned: number;
  finalGrade: string;
  earnedAt: { schoolId: string; name: string; kind: string };
}

/**
 * Transcript entries: semester and final grades (grading-period grades never); a final grade
 * replaces that course's semester entries. Credits attempted are the course's, halved for a
 * semester grade of a year-long section; credits earned are the record's, else all or nothing by
 * the home school's passing rule.
 */
export function transcriptEntries(
  rule: EligibilityRule,
  grades: readonly TranscriptGrade[],
): TranscriptEntry[] {
  const posted = grades.filter((g) => g.gradeType !== 'grading_period');
  const courseKey = (g: TranscriptGrade) =>
    `${g.schoolId}\u0000${g.courseKey}\u0000${g.schoolYear}`;
  const hasFinal = new Set(posted.filter((g) => g.gradeType === 'final').map(courseKey));
  const entries = posted
    .filter((g) => g.gradeType === 'final' || !hasFinal.has(courseKey(g)))
    .map((g): TranscriptEntry => {
      const attempted =
        g.gradeType === 'semester' && g.courseTerm === 'year' ? g.credits / 2 : g.credits;
      const earned = g.creditsEarned ?? (isFailing(rule, g) ? 0 : attempted);
      return {
        schoolYear: g.schoolYear,
        courseCode: g.courseCode,
        title: g.title,
        term: g.term,
        creditsAttempted: attempted,
        creditsEarned: earned,
        finalGrade: g.letterGrade ?? String(g.numericGrade),
        earnedAt: { schoolId: g.schoolId, name: g.schoolName, kind: g.schoolKind },
      };
    });
  return entries.sort((a, b) =>
    a.schoolYear !== b.schoolYear
      ? a.schoolYear < b.schoolYear
        ? -1
        : 1
      : a.title !== b.title
        ? a.title < b.title
          ? -1
          : 1
        : a.term < b.term
          ? -1
          : 1,
  );
}

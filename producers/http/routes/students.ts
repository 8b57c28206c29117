import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import { forbidden, notFound } from '../../../shared/errors.ts';
import {
  Cursor,
  Limit,
  LocalDate,
  SchoolId,
  SchoolYear,
  StudentId,
} from '../../../shared/schemas.ts';
import { parseOr400 } from '../../../shared/validation.ts';
import { getStudent } from '../../../shared/db/repos/students.ts';
import { getSchool } from '../../../shared/db/repos/schools.ts';
import {
  gradesOf,
  toTranscriptGrade,
  type GradeWithSchool,
} from '../../../shared/db/repos/grades.ts';
import { ruleOf, upsertRule } from '../../../shared/db/repos/eligibility-rules.ts';
import { recordDisclosures } from '../../../shared/db/repos/history.ts';
import { evaluateEligibility, transcriptEntries } from '../../../shared/domain/grading.ts';
import { CursorPart, decodeCursor, page } from '../../../shared/pagination.ts';
import type { Actor } from '../../../shared/identity.ts';
import type { Student } from '../../../shared/db/schema.ts';
import { actorOf } from '../auth.ts';
import { requireSelfOrAdmin } from '../access.ts';
import type { ProducerDeps } from '../../deps.ts';

export const StudentParams = z.strictObject({ studentId: StudentId });
export const Term = z.enum(['Q1', 'Q2', 'Q3', 'Q4', 'S1', 'S2', 'FY']);
export const RuleBody = z.strictObject({
  passingNumericGrade: z.number().min(0).max(100),
  failingLetterGrades: z
    .array(z.string().regex(/^[A-Za-z][A-Za-z+-]{0,3}$/, 'must be a letter grade like F'))
    .max(20),
  maxFailingCourses: z.number().int().min(0).max(20),
  minPassingCourses: z.number().int().min(0).max(20),
});

/** Not KHSAA-complete: what this answer leaves to the school (domain.md, KHSAA Bylaw 5). */
const NOT_CHECKED = [
  'KHSAA Bylaw 5 Section 1: on schedule to graduate with the class (credits earned toward the 22-credit minimum), checked at the start of the school year',
  'KHSAA Bylaw 4: full-time enrollment at the member high school',
  'grades not yet posted by a high school or tech center for this term',
];

export const ReportCardQuery = z.strictObject({
  schoolYear: SchoolYear.optional(),
  term: Term.optional(),
});
export const NoQuery = z.strictObject({});
export const EligibilityQuery = z.strictObject({ schoolYear: SchoolYear, term: Term });
export const HistoryQuery = z.strictObject({
  from: LocalDate.optional(),
  to: LocalDate.optional(),
  limit: Limit,
  cursor: Cursor,
});
export const RuleParams = z.strictObject({ schoolId: SchoolId });

export function studentRoutes(app: FastifyInstance, deps: ProducerDeps) {
  const { db, clock } = deps;

  /** The home high school or the state office; anyone else's answer is the same as for no student. */
  async function readableStudent(actor: Actor, studentId: string, what: string): Promise<Student> {
    if (actor.kind === 'ops' || (actor.kind === 'school' && actor.schoolKind !== 'high_school'))
      throw forbidden(what);
    const s = await getStudent(db, studentId);
    if (!s || (actor.kind === 'school' && s.home_school_id !== actor.schoolId))
      throw notFound(`Student ${studentId}`);
    return s;
  }

  /** Tech-center grades shown to the high school are disclosures from each center (FERPA 99.32). */
  async function discloseGrades(
    actor: Actor,
    student: Student,
    grades: readonly GradeWithSchool[],
    shown: string,
  ) {
    const centers = [
      ...new Set(grades.filter((g) => g.source === 'tech_center').map((g) => g.school_id)),
    ];
    if (centers.length === 0) return;
    await recordDisclosures(db, actor, clock.now(), [
      { studentId: student.id, record: 'grade', shown: { shown, from: centers } },
    ]);
  }

  app.get('/v1/students/:studentId/report-card', async (req) => {
    const actor = actorOf(req);
    const { studentId } = parseOr400(StudentParams, req.params, 'path');
    const q = parseOr400(ReportCardQuery, req.query, 'query');
    const student = await readableStudent(actor, studentId, 'read report cards');
    const grades = await gradesOf(db, studentId, q);
    await discloseGrades(actor, student, grades, 'report card');
    return {
      grades: grades.map((g) => ({
        source: g.source,
        schoolId: g.school_id,
        schoolName: g.school_name,
        courseCode: g.course_code,
        title: g.title,
        schoolYear: g.school_year,
        term: g.term,
        gradeType: g.grade_type,
        letterGrade: g.letter_grade,
        numericGrade: g.numeric_grade,
        postedAt: g.posted_at.toISOString(),
      })),
    };
  });

  app.get('/v1/students/:studentId/transcript', async (req) => {
    const actor = actorOf(req);
    const { studentId } = parseOr400(StudentParams, req.params, 'path');
    parseOr400(NoQuery, req.query, 'query');
    const student = await readableStudent(actor, studentId, 'read transcripts');
    const grades = await gradesOf(db, studentId);
    await discloseGrades(actor, student, grades, 'transcript');
    return {
      entries: transcriptEntries(
        await ruleOf(db, student.home_school_id),
        grades.map(toTranscriptGrade),
      ),
    };
  });

  app.get('/v1/students/:studentId/eligibility', async (req) => {
    const actor = actorOf(req);
    const { studentId } = parseOr400(StudentParams, req.params, 'path');
    const q = parseOr400(EligibilityQuery, req.query, 'query');
    const student = await readableStudent(actor, studentId, 'read athletic eligibility');
    const rule = await ruleOf(db, student.home_school_id);
    const grades = await gradesOf(db, studentId, q);
    await discloseGrades(actor, student, grades, 'athletic eligibility');
    const result = evaluateEligibility(
      rule,
      `${q.term} ${q.schoolYear}`,
      grades.map(toTranscriptGrade),
    );
    return { ...result, rule, notChecked: NOT_CHECKED };
  });

  app.get('/v1/students/:studentId/history', async (req) => {
    const actor = actorOf(req);
    const { studentId } = parseOr400(StudentParams, req.params, 'path');
    const q = parseOr400(HistoryQuery, req.query, 'query');
    const student = await readableStudent(actor, studentId, 'read student history');
    const home = await getSchool(db, student.home_school_id);
    const tz = home?.timezone ?? 'America/New_York';
    const after = decodeCursor(q.cursor, [CursorPart.seq]);
    let query = db.selectFrom('history').selectAll().where('student_id', '=', studentId);
    // from/to are dates in the home high school's calendar, inclusive.
    if (q.from) query = query.where(sql<boolean>`(at at time zone ${tz})::date >= ${q.from}::date`);
    if (q.to) query = query.where(sql<boolean>`(at at time zone ${tz})::date <= ${q.to}::date`);
    if (after) query = query.where('id', '>', after[0]);
    const rows = await query
      .orderBy('id')
      .limit(q.limit + 1)
      .execute();
    const { items, nextCursor } = page(rows, q.limit, (r) => [r.id]);
    return {
      entries: items.map((h) => ({
        at: h.at.toISOString(),
        actor: {
          schoolId: h.actor_school_id,
          credentialId: h.actor_credential_id,
          job: h.actor_job,
        },
        eventId: h.event_id,
        record: h.record,
        action: h.action,
        before: h.before ?? null,
        after: h.after ?? null,
        disclosedTo: h.disclosed_to,
      })),
      nextCursor,
    };
  });

  app.put('/v1/schools/:schoolId/eligibility-rule', async (req) => {
    const { schoolId } = parseOr400(RuleParams, req.params, 'path');
    requireSelfOrAdmin(actorOf(req), schoolId, `set another school's eligibility rule`, [
      'high_school',
    ]);
    const rule = parseOr400(RuleBody, req.body, 'request body');
    const school = await getSchool(db, schoolId);
    if (!school) throw notFound(`School ${schoolId}`);
    if (school.kind !== 'high_school')
      throw forbidden(
        'set an eligibility rule for a tech center (high schools decide eligibility)',
      );
    await upsertRule(
      db,
      schoolId,
      {
        ...rule,
        failingLetterGrades: [...new Set(rule.failingLetterGrades.map((g) => g.toUpperCase()))],
      },
      clock.now(),
    );
    return ruleOf(db, schoolId);
  });

  app.get('/v1/schools/:schoolId/eligibility-rule', async (req) => {
    const { schoolId } = parseOr400(RuleParams, req.params, 'path');
    requireSelfOrAdmin(actorOf(req), schoolId, `read another school's eligibility rule`);
    if (!(await getSchool(db, schoolId))) throw notFound(`School ${schoolId}`);
    return ruleOf(db, schoolId);
  });
}

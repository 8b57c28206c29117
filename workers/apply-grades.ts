import { sql, type Transaction } from 'kysely';
import type { DB } from '../shared/db/schema.ts';
import type { GradeFinalized } from '../shared/events.ts';
import { getSchool } from '../shared/db/repos/schools.ts';
import { getSection } from '../shared/db/repos/sections.ts';
import { hasApprovedWaiver } from '../shared/db/repos/waivers.ts';
import { lockKey } from '../shared/db/repos/locks.ts';
import { currentGrades, upsertGrades, type GradeBatch } from '../shared/db/repos/grades.ts';
import { appendHistory, type HistoryEntry } from '../shared/db/repos/history.ts';
import { rejectionMessage as msg, type Rejection } from '../shared/domain/rejections.ts';
import type { ApplyInput } from './apply-input.ts';

/**
 * Posted grades: a center's for its section (students on its roster that year), or a high
 * school's for its own course (its own students). One upsert for the event; semester and final
 * grades are transcript postings, so a change to one is written to the history as a correction.
 */
export async function applyGrades(
  trx: Transaction<DB>,
  input: ApplyInput<GradeFinalized>,
): Promise<Rejection[]> {
  const { event, body } = input;
  const producer = await getSchool(trx, event.school_id);
  if (!producer) throw new Error(`producer school ${event.school_id} is not stored`);
  const ids = body.records.map((r) => r.studentId);
  const homes = new Map(
    (
      await trx
        .selectFrom('students')
        .select(['id', 'home_school_id'])
        .where(sql<boolean>`id = any(${ids}::text[])`)
        .execute()
    ).map((s) => [s.id, s.home_school_id]),
  );
  const rejections: Rejection[] = [];
  let course: Pick<
    GradeBatch,
    'source' | 'courseKey' | 'courseCode' | 'title' | 'credits' | 'courseTerm'
  >;

  if (body.ktsCourseNumber !== undefined) {
    const kts = body.ktsCourseNumber;
    const section = await getSection(trx, body.schoolYear, kts);
    const onRoster = new Set(
      (
        await trx
          .selectFrom('roster_spans')
          .select('student_id')
          .distinct()
          .where('school_year', '=', body.schoolYear)
          .where('kts_course_number', '=', kts)
          .where(sql<boolean>`student_id = any(${ids}::text[])`)
          .execute()
      ).map((r) => r.student_id),
    );
    const waived =
      producer.kind === 'ctc' && (await hasApprovedWaiver(trx, producer.id, body.schoolYear));
    body.records.forEach((r, i) => {
      const reject = (code: Rejection['code'], message: string) =>
        rejections.push({ recordIndex: i, studentId: r.studentId, code, message });
      if (!section || section.tech_school_id !== producer.id)
        reject('unknown_section', msg.unknownSection(kts, body.schoolYear));
      else if (waived) reject('waived', msg.waived(producer.id, body.schoolYear));
      else if (!onRoster.has(r.studentId))
        reject('not_on_roster', msg.notOnRoster(r.studentId, kts, body.schoolYear));
    });
    if (!section) return rejections;
    course = {
      source: 'tech_center',
      courseKey: kts,
      courseCode: section.course_code,
      title: section.title,
      credits: section.credits,
      courseTerm: section.term,
    };
  } else {
    const c = body.course!;
    body.records.forEach((r, i) => {
      if (homes.get(r.studentId) !== producer.id) {
        rejections.push({
          recordIndex: i,
          studentId: r.studentId,
          code: 'unknown_student',
          message: msg.unknownStudent(r.studentId),
        });
      }
    });
    course = {
      source: 'high_school',
      courseKey: c.courseId,
      courseCode: c.courseCode,
      title: c.title,
      credits: c.credits,
      courseTerm: null,
    };
  }

  const rejected = new Set(rejections.map((r) => r.recordIndex));
  const accepted = body.records
    .filter((_, i) => !rejected.has(i))
    .map((r) => ({
      studentId: r.studentId,
      letterGrade: r.letterGrade ?? null,
      numericGrade: r.numericGrade ?? null,
      creditsEarned: r.creditsEarned ?? null,
    }));
  if (accepted.length === 0) return rejections;

  const key = {
    schoolId: producer.id,
    courseKey: course.courseKey,
    schoolYear: body.schoolYear,
    term: body.term,
    gradeType: body.gradeType,
  };
  await lockKey(
    trx,
    `grades:${key.schoolId}:${key.courseKey}:${key.schoolYear}:${key.term}:${key.gradeType}`,
  );
  const before = new Map(
    (
      await currentGrades(
        trx,
        key,
        accepted.map((a) => a.studentId),
      )
    ).map((g) => [g.student_id, g]),
  );
  const written = new Set(
    await upsertGrades(trx, {
      ...key,
      ...course,
      occurredAt: body.occurredAt,
      eventId: body.eventId,
      eventSeq: event.seq,
      postedAt: input.now,
      rows: accepted,
    }),
  );

  const mark = (g: {
    letterGrade: string | null;
    numericGrade: number | null;
    creditsEarned: number | null;
  }) => ({
    courseCode: course.courseCode,
    title: course.title,
    schoolYear: body.schoolYear,
    term: body.term,
    gradeType: body.gradeType,
    letterGrade: g.letterGrade,
    numericGrade: g.numericGrade,
    creditsEarned: g.creditsEarned,
  });
  const entries: HistoryEntry[] = [];
  for (const a of accepted.filter((x) => written.has(x.studentId))) {
    const old = before.get(a.studentId);
    const prev = old
      ? mark({
          letterGrade: old.letter_grade,
          numericGrade: old.numeric_grade,
          creditsEarned: old.credits_earned,
        })
      : null;
    // A center's grade is sent to the student's home high school: a disclosure as well as a change.
    const disclosedTo = course.source === 'tech_center' ? (homes.get(a.studentId) ?? null) : null;
    entries.push({
      studentId: a.studentId,
      record: 'grade',
      action: old ? 'update' : 'create',
      eventId: body.eventId,
      before: prev,
      after: mark(a),
      disclosedTo,
    });
    if (body.gradeType !== 'grading_period') {
      entries.push({
        studentId: a.studentId,
        record: 'transcript',
        action: old ? 'corrected' : 'posted',
        eventId: body.eventId,
        before: prev,
        after: mark(a),
      });
    }
  }
  await appendHistory(trx, input.actor, input.now, entries);
  return rejections;
}

import type { Transaction } from 'kysely';
import type { DB } from '../shared/db/schema.ts';
import type { EnrollmentChanged } from '../shared/events.ts';
import { getSection } from '../shared/db/repos/sections.ts';
import { getStudent } from '../shared/db/repos/students.ts';
import { getSchool } from '../shared/db/repos/schools.ts';
import { hasApprovedWaiver } from '../shared/db/repos/waivers.ts';
import { lockKey } from '../shared/db/repos/locks.ts';
import {
  actionsFor,
  replaceSpans,
  spansOf,
  upsertEnrollmentAction,
} from '../shared/db/repos/rosters.ts';
import { appendHistory } from '../shared/db/repos/history.ts';
import { rosterSpans } from '../shared/domain/roster.ts';
import { rejectionMessage as msg, type Rejection } from '../shared/domain/rejections.ts';
import type { ApplyInput } from './apply-input.ts';

/**
 * The high school scheduled (or dropped) its student into a KTS section: store the action, then
 * rebuild that student's roster spans in the section from every action it has.
 */
export async function applyEnrollment(
  trx: Transaction<DB>,
  input: ApplyInput<EnrollmentChanged>,
): Promise<Rejection[]> {
  const { event, body } = input;
  const reject = (code: Rejection['code'], message: string): Rejection[] => [
    { recordIndex: 0, studentId: body.studentId, code, message },
  ];

  const section = await getSection(trx, body.schoolYear, body.ktsCourseNumber);
  if (!section)
    return reject(
      'unknown_section',
      msg.unknownCatalogSection(body.ktsCourseNumber, body.schoolYear),
    );
  const student = await getStudent(trx, body.studentId);
  if (!student || student.home_school_id !== event.school_id)
    return reject('unknown_student', msg.unknownStudent(body.studentId));
  const center = await getSchool(trx, section.tech_school_id);
  if (center?.kind === 'ctc' && (await hasApprovedWaiver(trx, center.id, body.schoolYear))) {
    return reject('waived', msg.waived(center.id, body.schoolYear));
  }

  const key = {
    schoolYear: body.schoolYear,
    ktsCourseNumber: body.ktsCourseNumber,
    studentId: body.studentId,
  };
  await lockKey(trx, `roster:${key.schoolYear}:${key.ktsCourseNumber}:${key.studentId}`);
  const won = await upsertEnrollmentAction(trx, {
    ...key,
    effectiveDate: body.effectiveDate,
    action: body.action,
    hsPeriods: body.hsPeriods,
    homeSchoolId: event.school_id,
    occurredAt: body.occurredAt,
    eventId: body.eventId,
    eventSeq: event.seq,
  });
  // A later action already holds this key: the event is still applied, the later one stays in force.
  if (!won) return [];

  const before = await spansOf(trx, key.schoolYear, key.ktsCourseNumber, key.studentId);
  const after = rosterSpans(
    await actionsFor(trx, key.schoolYear, key.ktsCourseNumber, key.studentId),
  );
  await replaceSpans(
    trx,
    { ...key, techSchoolId: section.tech_school_id, homeSchoolId: event.school_id },
    after,
  );
  await appendHistory(trx, input.actor, input.now, [
    {
      studentId: body.studentId,
      record: 'enrollment',
      action: body.action,
      eventId: body.eventId,
      before: { ktsCourseNumber: key.ktsCourseNumber, schoolYear: key.schoolYear, spans: before },
      after: { ktsCourseNumber: key.ktsCourseNumber, schoolYear: key.schoolYear, spans: after },
      // The center receives the student on its roster: a disclosure of the enrollment record.
      disclosedTo: section.tech_school_id,
    },
  ]);
  return [];
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { forbidden, notFound } from '../../../shared/errors.ts';
import { KtsCourseNumber, LocalDate, SchoolId, SchoolYear } from '../../../shared/schemas.ts';
import { parseOr400 } from '../../../shared/validation.ts';
import { getSection } from '../../../shared/db/repos/sections.ts';
import { rosterOf } from '../../../shared/db/repos/rosters.ts';
import { highSchoolReport } from '../../../shared/db/repos/attendance.ts';
import { recordDisclosures } from '../../../shared/db/repos/history.ts';
import { actorOf } from '../auth.ts';
import { requireSelfOrAdmin } from '../access.ts';
import type { ProducerDeps } from '../../deps.ts';

export const RosterParams = z.strictObject({
  schoolId: SchoolId,
  schoolYear: SchoolYear,
  ktsCourseNumber: KtsCourseNumber,
});
export const ReportParams = z.strictObject({ schoolId: SchoolId });

export const RosterQuery = z.strictObject({ asOf: LocalDate.optional() });
export const ReportQuery = z.strictObject({ date: LocalDate });

export function readRoutes(app: FastifyInstance, deps: ProducerDeps) {
  const { db, clock } = deps;

  app.get('/v1/tech-centers/:schoolId/rosters/:schoolYear/:ktsCourseNumber', async (req) => {
    const actor = actorOf(req);
    const p = parseOr400(RosterParams, req.params, 'path');
    requireSelfOrAdmin(actor, p.schoolId, `read another center's rosters`, ['atc', 'ctc']);
    const { asOf } = parseOr400(RosterQuery, req.query, 'query');
    const section = await getSection(db, p.schoolYear, p.ktsCourseNumber);
    if (!section) throw notFound(`Section ${p.ktsCourseNumber} in ${p.schoolYear}`);
    if (section.tech_school_id !== p.schoolId)
      throw forbidden(`read section ${p.ktsCourseNumber}, which belongs to another center`);
    const rows = await rosterOf(db, p.schoolYear, p.ktsCourseNumber, asOf);
    // The center saw these students' names and schedules.
    await recordDisclosures(
      db,
      actor,
      clock.now(),
      [...new Set(rows.map((r) => r.student_id))].map((studentId) => ({
        studentId,
        record: 'enrollment',
        shown: { shown: 'roster', ktsCourseNumber: p.ktsCourseNumber, schoolYear: p.schoolYear },
      })),
    );
    return {
      students: rows.map((r) => ({
        studentId: r.student_id,
        firstName: r.first_name,
        lastName: r.last_name,
        gradeLevel: r.grade_level,
        homeSchoolId: r.home_school_id,
        hsPeriods: r.hs_periods,
        startDate: r.start_date,
        endDate: r.end_date,
      })),
    };
  });

  app.get('/v1/high-schools/:schoolId/attendance', async (req) => {
    const actor = actorOf(req);
    const { schoolId } = parseOr400(ReportParams, req.params, 'path');
    requireSelfOrAdmin(actor, schoolId, `read another school's attendance`, ['high_school']);
    const { date } = parseOr400(ReportQuery, req.query, 'query');
    const rows = await highSchoolReport(db, schoolId, date);
    // Tech-center data shown to the high school is a disclosure from each center.
    await recordDisclosures(
      db,
      actor,
      clock.now(),
      rows.map((r) => ({
        studentId: r.student_id,
        record: 'attendance',
        eventId: r.event_id,
        shown: {
          shown: 'attendance report',
          date,
          ktsCourseNumber: r.kts_course_number,
          techSchoolId: r.tech_school_id,
        },
      })),
    );
    return {
      date,
      rows: rows.map((r) => ({
        studentId: r.student_id,
        techSchoolId: r.tech_school_id,
        ktsCourseNumber: r.kts_course_number,
        hsPeriods: r.hs_periods ?? [],
        status: r.status,
        excuse: r.excuse,
        code: r.code,
        minutesAbsent: r.minutes_absent,
        occurredAt: r.occurred_at.toISOString(),
        appliedAt: r.applied_at.toISOString(),
        recordedBy: {
          schoolId: r.tech_school_id,
          credentialId: r.credential_id,
          eventId: r.event_id,
        },
      })),
    };
  });
}

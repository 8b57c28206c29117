import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ApiError, forbidden, notFound } from '../../../shared/errors.ts';
import {
  CalendarBody,
  Cursor,
  KtsCourseNumber,
  Limit,
  SchoolBody,
  SchoolId,
  SchoolYear,
  SectionBody,
  StudentBody,
  StudentId,
} from '../../../shared/schemas.ts';
import { parseOr400 } from '../../../shared/validation.ts';
import { getSchool, schoolView, upsertSchool } from '../../../shared/db/repos/schools.ts';
import { calendarView, upsertCalendar } from '../../../shared/db/repos/calendars.ts';
import { sectionView, upsertSection } from '../../../shared/db/repos/sections.ts';
import { getStudent, studentView, upsertStudent } from '../../../shared/db/repos/students.ts';
import { appendHistory } from '../../../shared/db/repos/history.ts';
import { lockKey } from '../../../shared/db/repos/locks.ts';
import { CursorPart, decodeCursor, page } from '../../../shared/pagination.ts';
import { isTechCenter } from '../../../shared/identity.ts';
import { actorOf } from '../auth.ts';
import { requireSchoolOrAdmin, requireSelfOrAdmin, requireStateAdmin } from '../access.ts';
import type { ProducerDeps } from '../../deps.ts';

export const SchoolParams = z.strictObject({ schoolId: SchoolId });
export const CalendarParams = z.strictObject({ schoolId: SchoolId, schoolYear: SchoolYear });
export const SectionParams = z.strictObject({
  schoolId: SchoolId,
  schoolYear: SchoolYear,
  ktsCourseNumber: KtsCourseNumber,
});
export const StudentParams = z.strictObject({ studentId: StudentId });
export const CatalogQuery = z.strictObject({
  techSchoolId: SchoolId.optional(),
  limit: Limit,
  cursor: Cursor,
});

export const CatalogParams = z.strictObject({ schoolYear: SchoolYear });

export function setupRoutes(app: FastifyInstance, deps: ProducerDeps) {
  const { db, clock } = deps;

  app.put('/v1/schools/:schoolId', async (req) => {
    requireStateAdmin(actorOf(req), 'register schools');
    const { schoolId } = parseOr400(SchoolParams, req.params, 'path');
    const b = parseOr400(SchoolBody, req.body, 'request body');
    const s = await upsertSchool(
      db,
      { id: schoolId, ...b, attendanceSync: b.attendanceSync ?? false },
      clock.now(),
    );
    return schoolView(s);
  });

  app.put('/v1/schools/:schoolId/calendars/:schoolYear', async (req) => {
    const { schoolId, schoolYear } = parseOr400(CalendarParams, req.params, 'path');
    requireSelfOrAdmin(actorOf(req), schoolId, `set another school's calendar`);
    const b = parseOr400(CalendarBody, req.body, 'request body');
    if (!(await getSchool(db, schoolId))) throw notFound(`School ${schoolId}`);
    const [y1, y2] = schoolYear.split('-');
    if (b.firstDay < `${y1}-07-01` || b.lastDay > `${y2}-06-30`) {
      throw new ApiError(
        'validation_failed',
        `The calendar is not valid: the ${schoolYear} school year runs July 1, ${y1} to June 30, ${y2}.`,
        [
          {
            path: b.firstDay < `${y1}-07-01` ? 'firstDay' : 'lastDay',
            message: `must fall within July 1, ${y1} to June 30, ${y2}`,
          },
        ],
      );
    }
    const outside = b.nonInstructionalDays.findIndex((d) => d < b.firstDay || d > b.lastDay);
    if (outside >= 0) {
      throw new ApiError(
        'validation_failed',
        'The calendar is not valid: a non-instructional day lies outside firstDay-lastDay.',
        [
          {
            path: `nonInstructionalDays.${outside}`,
            message: 'must lie between firstDay and lastDay',
          },
        ],
      );
    }
    return calendarView(await upsertCalendar(db, { schoolId, schoolYear, ...b }, clock.now()));
  });

  app.put('/v1/tech-centers/:schoolId/sections/:schoolYear/:ktsCourseNumber', async (req) => {
    const p = parseOr400(SectionParams, req.params, 'path');
    requireSelfOrAdmin(actorOf(req), p.schoolId, `publish sections for another center`, [
      'atc',
      'ctc',
    ]);
    const b = parseOr400(SectionBody, req.body, 'request body');
    const center = await getSchool(db, p.schoolId);
    if (!center) throw notFound(`School ${p.schoolId}`);
    if (!isTechCenter(center.kind))
      throw forbidden(`publish sections for ${p.schoolId}, which is not a tech center`);
    const s = await upsertSection(
      db,
      {
        schoolYear: p.schoolYear,
        ktsCourseNumber: p.ktsCourseNumber,
        techSchoolId: p.schoolId,
        ...b,
      },
      clock.now(),
    );
    if (!s) {
      throw new ApiError(
        'conflict',
        `ktsCourseNumber ${p.ktsCourseNumber} is already published by another center for ${p.schoolYear}; numbers are unique statewide within a year.`,
      );
    }
    return sectionView(s);
  });

  app.get('/v1/catalog/:schoolYear', async (req) => {
    requireSchoolOrAdmin(actorOf(req), 'read the catalog');
    const { schoolYear } = parseOr400(CatalogParams, req.params, 'path');
    const q = parseOr400(CatalogQuery, req.query, 'query');
    const after = decodeCursor(q.cursor, [CursorPart.id]);
    let query = db
      .selectFrom('sections as s')
      .innerJoin('schools as c', 'c.id', 's.tech_school_id')
      .select([
        's.kts_course_number',
        's.tech_school_id',
        'c.name',
        's.course_code',
        's.title',
        's.credits',
        's.term',
      ])
      .where('s.school_year', '=', schoolYear);
    if (q.techSchoolId) query = query.where('s.tech_school_id', '=', q.techSchoolId);
    if (after) query = query.where('s.kts_course_number', '>', after[0]);
    const rows = await query
      .orderBy('s.kts_course_number')
      .limit(q.limit + 1)
      .execute();
    const { items, nextCursor } = page(rows, q.limit, (r) => [r.kts_course_number]);
    return {
      sections: items.map((r) => ({
        ktsCourseNumber: r.kts_course_number,
        techSchoolId: r.tech_school_id,
        techSchoolName: r.name,
        courseCode: r.course_code,
        title: r.title,
        credits: r.credits,
        term: r.term,
      })),
      nextCursor,
    };
  });

  app.put('/v1/students/:studentId', async (req) => {
    const actor = actorOf(req);
    const { studentId } = parseOr400(StudentParams, req.params, 'path');
    if (actor.kind === 'ops' || (actor.kind === 'school' && actor.schoolKind !== 'high_school')) {
      throw forbidden('register students (the home high school or the state office does)');
    }
    const b = parseOr400(StudentBody, req.body, 'request body');
    const home = await getSchool(db, b.homeSchoolId);
    if (!home || home.kind !== 'high_school') {
      throw new ApiError(
        'unprocessable',
        `homeSchoolId ${b.homeSchoolId} is not a registered high school.`,
      );
    }
    return db.transaction().execute(async (trx) => {
      const now = clock.now();
      // Two schools registering the same new SSID at once: FOR UPDATE locks no row that does not
      // exist yet, so the student id itself is locked; the second then sees the first's row (409).
      await lockKey(trx, `student:${studentId}`);
      const before = await trx
        .selectFrom('students')
        .selectAll()
        .where('id', '=', studentId)
        .forUpdate()
        .executeTakeFirst();
      if (before && actor.kind === 'school' && before.home_school_id !== actor.schoolId) {
        // api.md's one exception to "never tell": moving a student is the state office's PUT.
        throw new ApiError(
          'conflict',
          `Student ${studentId} is homed at another high school; the state office moves students between high schools.`,
        );
      }
      if (actor.kind === 'school' && b.homeSchoolId !== actor.schoolId) {
        throw forbidden(`register students of another school (${b.homeSchoolId})`);
      }
      const after = await upsertStudent(trx, { id: studentId, ...b }, now);
      if (
        !before ||
        before.home_school_id !== after.home_school_id ||
        before.grade_level !== after.grade_level
      ) {
        await appendHistory(
          trx,
          {
            schoolId: actor.kind === 'school' ? actor.schoolId : null,
            credentialId: actor.credentialId,
            job: null,
          },
          now,
          [
            {
              studentId,
              record: 'student',
              action: !before
                ? 'create'
                : before.home_school_id !== after.home_school_id
                  ? 'move'
                  : 'update',
              eventId: null,
              before: before
                ? { homeSchoolId: before.home_school_id, gradeLevel: before.grade_level }
                : null,
              after: { homeSchoolId: after.home_school_id, gradeLevel: after.grade_level },
            },
          ],
        );
      }
      return studentView(after);
    });
  });

  app.get('/v1/students/:studentId', async (req) => {
    const actor = actorOf(req);
    const { studentId } = parseOr400(StudentParams, req.params, 'path');
    // Only the home high school reads its students here (a center reads its rosters).
    if (actor.kind === 'ops' || (actor.kind === 'school' && actor.schoolKind !== 'high_school')) {
      throw forbidden('read students (the home high school or the state office does)');
    }
    const s = await getStudent(db, studentId);
    // Another school's student and a student that does not exist answer the same.
    if (!s || (actor.kind === 'school' && s.home_school_id !== actor.schoolId))
      throw notFound(`Student ${studentId}`);
    return studentView(s);
  });
}

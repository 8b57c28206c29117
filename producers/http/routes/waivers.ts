import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ApiError, forbidden, isUniqueViolation, notFound } from '../../../shared/errors.ts';
import { Cursor, Limit, SchoolId, SchoolYear, Text } from '../../../shared/schemas.ts';
import { actingSchoolId } from '../../../shared/identity.ts';
import { parseOr400 } from '../../../shared/validation.ts';
import { getSchool } from '../../../shared/db/repos/schools.ts';
import { localDate } from '../../../shared/domain/dates.ts';
import { waiverRequestProblem } from '../../../shared/domain/waivers.ts';
import { CursorPart, decodeCursor, page } from '../../../shared/pagination.ts';
import type { Selectable } from 'kysely';
import type { WaiversTable } from '../../../shared/db/schema.ts';
import { actorOf } from '../auth.ts';
import { requireStateAdmin } from '../access.ts';
import type { ProducerDeps } from '../../deps.ts';

export const RequestBody = z.strictObject({
  schoolId: SchoolId.optional(),
  schoolYear: SchoolYear,
  reason: Text(2000),
});
export const DecisionBody = z.strictObject({ decision: z.enum(['approved', 'denied']) });
export const WaiverParams = z.strictObject({
  waiverId: z.uuid('must be a waiver id as returned by POST /v1/waivers'),
});

const view = (w: Selectable<WaiversTable>) => ({
  waiverId: w.id,
  schoolId: w.school_id,
  schoolYear: w.school_year,
  reason: w.reason,
  status: w.status,
  requestedAt: w.requested_at.toISOString(),
  decidedAt: w.decided_at ? w.decided_at.toISOString() : null,
});

export const WaiverListQuery = z.strictObject({
  schoolYear: SchoolYear.optional(),
  limit: Limit,
  cursor: Cursor,
});

export function waiverRoutes(app: FastifyInstance, deps: ProducerDeps) {
  const { db, clock } = deps;

  app.post('/v1/waivers', async (req, reply) => {
    const actor = actorOf(req);
    const b = parseOr400(RequestBody, req.body, 'request body');
    const schoolId = actingSchoolId(actor, b.schoolId, {
      where: 'request body',
      stateOffice: 'when the state office files a waiver for a CTC',
      verb: 'ask for waivers',
    });
    const school = await getSchool(db, schoolId);
    if (!school)
      throw new ApiError(
        'unprocessable',
        `School ${schoolId} is not registered with the exchange.`,
      );
    // The window and "next year" are the school's own local dates (KTS_NOW fixes the clock in tests).
    const now = clock.now();
    const problem = waiverRequestProblem(
      school.kind,
      b.schoolYear,
      localDate(now, school.timezone),
    );
    if (problem) throw new ApiError('unprocessable', problem);
    try {
      const w = await db
        .insertInto('waivers')
        .values({
          school_id: schoolId,
          school_year: b.schoolYear,
          reason: b.reason,
          status: 'pending',
          requested_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      deps.log.info({ waiverId: w.id, schoolId, schoolYear: b.schoolYear }, 'waiver requested');
      return reply.code(201).send(view(w));
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ApiError(
          'unprocessable',
          `${schoolId} already asked for a ${b.schoolYear} waiver; one request per school and year (a denied one counts).`,
        );
      }
      throw err;
    }
  });

  app.post('/v1/waivers/:waiverId/decision', async (req) => {
    requireStateAdmin(actorOf(req), 'decide waivers');
    const { waiverId } = parseOr400(WaiverParams, req.params, 'path');
    const { decision } = parseOr400(DecisionBody, req.body, 'request body');
    const w = await db
      .updateTable('waivers')
      .set({ status: decision, decided_at: clock.now() })
      .where('id', '=', waiverId)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
    if (w) {
      deps.log.info({ waiverId, decision }, 'waiver decided');
      return view(w);
    }
    const existing = await db
      .selectFrom('waivers')
      .select('status')
      .where('id', '=', waiverId)
      .executeTakeFirst();
    if (!existing) throw notFound(`Waiver ${waiverId}`);
    throw new ApiError(
      'conflict',
      `Waiver ${waiverId} was already ${existing.status}; a decision is final.`,
    );
  });

  app.get('/v1/waivers', async (req) => {
    const actor = actorOf(req);
    const q = parseOr400(WaiverListQuery, req.query, 'query');
    if (actor.kind === 'ops' || (actor.kind === 'school' && actor.schoolKind !== 'ctc'))
      throw forbidden('list waivers');
    const after = decodeCursor(q.cursor, [CursorPart.instant, CursorPart.uuid]);
    let query = db.selectFrom('waivers').selectAll();
    if (actor.kind === 'school') query = query.where('school_id', '=', actor.schoolId);
    if (q.schoolYear) query = query.where('school_year', '=', q.schoolYear);
    if (after)
      query = query.where((eb) =>
        eb(eb.refTuple('requested_at', 'id'), '>', eb.tuple(new Date(after[0]), after[1])),
      );
    const rows = await query
      .orderBy('requested_at')
      .orderBy('id')
      .limit(q.limit + 1)
      .execute();
    const { items, nextCursor } = page(rows, q.limit, (r) => [r.requested_at.toISOString(), r.id]);
    return { waivers: items.map(view), nextCursor };
  });
}

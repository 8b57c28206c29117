import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../../shared/errors.ts';
import { Cursor, EventId, Instant, Limit, SchoolId } from '../../../shared/schemas.ts';
import { actingSchoolId } from '../../../shared/identity.ts';
import { parseOr400 } from '../../../shared/validation.ts';
import { getEventByIdentity } from '../../../shared/db/repos/events.ts';
import { CursorPart, decodeCursor, page } from '../../../shared/pagination.ts';
import { actorOf } from '../auth.ts';
import { requireSelfOrAdmin } from '../access.ts';
import { publish } from '../../publish.ts';
import { eventView } from '../../event-view.ts';
import type { ProducerDeps } from '../../deps.ts';

export const EventParams = z.strictObject({ eventId: EventId });
export const EventQuery = z.strictObject({ schoolId: SchoolId.optional() });
export const RejectionsQuery = z.strictObject({
  since: Instant.optional(),
  limit: Limit,
  cursor: Cursor,
});

export const SchoolPathParams = z.strictObject({ schoolId: SchoolId });

export function eventRoutes(app: FastifyInstance, deps: ProducerDeps) {
  app.post('/v1/events', async (req, reply) => {
    const result = await publish(deps, actorOf(req), req.body);
    return reply.code(result.status).send(result.body);
  });

  app.get('/v1/events/:eventId', async (req) => {
    const actor = actorOf(req);
    const { eventId } = parseOr400(EventParams, req.params, 'path');
    const q = parseOr400(EventQuery, req.query, 'query');
    const schoolId = actingSchoolId(actor, q.schoolId, {
      where: 'query',
      stateOffice: 'for the state office: an event is identified by its school and eventId',
      verb: 'read events',
    });
    const e = await getEventByIdentity(deps.db, schoolId, eventId);
    if (!e) throw notFound(`Event ${eventId} from ${schoolId}`);
    return eventView(deps.db, e);
  });

  app.get('/v1/schools/:schoolId/rejections', async (req) => {
    const { schoolId } = parseOr400(SchoolPathParams, req.params, 'path');
    requireSelfOrAdmin(actorOf(req), schoolId, `read another school's rejections`);
    const q = parseOr400(RejectionsQuery, req.query, 'query');
    const after = decodeCursor(q.cursor, [CursorPart.instant, CursorPart.seq, CursorPart.index]);
    let query = deps.db
      .selectFrom('event_rejections as r')
      .innerJoin('events as e', 'e.seq', 'r.event_seq')
      .select([
        'e.event_id',
        'e.type',
        'r.record_index',
        'r.student_id',
        'r.code',
        'r.message',
        'r.at',
        'r.event_seq',
      ])
      .where('r.school_id', '=', schoolId);
    if (q.since) query = query.where('r.at', '>=', new Date(q.since));
    if (after) {
      query = query.where((eb) =>
        eb(
          eb.refTuple('r.at', 'r.event_seq', 'r.record_index'),
          '<',
          eb.tuple(new Date(after[0]), after[1], after[2]),
        ),
      );
    }
    const rows = await query
      .orderBy('r.at', 'desc')
      .orderBy('r.event_seq', 'desc')
      .orderBy('r.record_index', 'desc')
      .limit(q.limit + 1)
      .execute();
    const { items, nextCursor } = page(rows, q.limit, (r) => [
      r.at.toISOString(),
      r.event_seq,
      r.record_index,
    ]);
    return {
      rejections: items.map((r) => ({
        eventId: r.event_id,
        type: r.type,
        recordIndex: r.record_index,
        studentId: r.student_id,
        code: r.code,
        message: r.message,
        at: r.at.toISOString(),
      })),
      nextCursor,
    };
  });
}

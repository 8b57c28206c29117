import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import { ApiError, notFound } from '../../../shared/errors.ts';
import { Cursor, Limit, LocalDate, SchoolId } from '../../../shared/schemas.ts';
import { parseOr400 } from '../../../shared/validation.ts';
import { getRun, runStatus } from '../../../shared/db/repos/sync.ts';
import { enqueueRunSchools, planManualRun } from '../../../shared/sync-plan.ts';
import { recordDisclosures } from '../../../shared/db/repos/history.ts';
import { CursorPart, decodeCursor, page } from '../../../shared/pagination.ts';
import { actorOf } from '../auth.ts';
import { requireSelfOrAdmin, requireStateAdmin } from '../access.ts';
import type { ProducerDeps } from '../../deps.ts';

export const SyncRunBody = z.strictObject({
  date: LocalDate.optional(),
  highSchoolId: SchoolId.optional(),
});
export const RunParams = z.strictObject({
  runId: z.uuid('must be a run id as returned by POST /v1/admin/sync-runs'),
});
export const RunListQuery = z.strictObject({
  date: LocalDate.optional(),
  limit: Limit,
  cursor: Cursor,
});
export const UnknownsParams = z.strictObject({ schoolId: SchoolId });
const Bool = z
  .enum(['true', 'false'], { message: 'must be true or false' })
  .transform((v) => v === 'true');
export const UnknownsQuery = z.strictObject({
  from: LocalDate.optional(),
  to: LocalDate.optional(),
  resolved: Bool.optional(),
  limit: Limit,
  cursor: Cursor,
});

async function runView(deps: ProducerDeps, runId: string) {
  const r = await getRun(deps.db, runId);
  if (!r) throw notFound(`Sync run ${runId}`);
  const dates = [...new Set(r.schools.map((s) => s.date))];
  return {
    runId: r.run.id,
    kind: r.run.kind,
    status: r.schools.length ? runStatus(r.schools.map((s) => s.status)) : 'completed',
    // The run's date: the one asked for, else the one date every school covered, else null.
    date: r.run.requested_date ?? (dates.length === 1 ? dates[0]! : null),
    createdAt: r.run.created_at.toISOString(),
    schools: r.schools.map((s) => ({
      highSchoolId: s.high_school_id,
      date: s.date,
      status: s.status,
      candidates: s.candidates,
      created: s.created,
      alreadyPresent: s.already_present,
      errors: s.errors,
      detail: s.detail,
    })),
  };
}

export function syncRoutes(app: FastifyInstance, deps: ProducerDeps) {
  const plan = { db: deps.db, clock: deps.clock, log: deps.log, queue: deps.enqueuer.syncQueue };

  app.post('/v1/admin/sync-runs', async (req, reply) => {
    const actor = actorOf(req);
    requireStateAdmin(actor, 'run the attendance sync');
    const b = parseOr400(SyncRunBody, req.body ?? {}, 'request body');
    const runId = await planManualRun(plan, { ...b, by: actor.credentialId ?? 'KTS_ADMIN_TOKEN' });
    return reply.code(202).send({ runId });
  });

  app.get('/v1/admin/sync-runs/:runId', async (req) => {
    requireStateAdmin(actorOf(req), 'read sync runs');
    const { runId } = parseOr400(RunParams, req.params, 'path');
    return runView(deps, runId);
  });

  app.get('/v1/admin/sync-runs', async (req) => {
    requireStateAdmin(actorOf(req), 'list sync runs');
    const q = parseOr400(RunListQuery, req.query, 'query');
    const after = decodeCursor(q.cursor, [CursorPart.instant, CursorPart.uuid]);
    let query = deps.db.selectFrom('sync_runs as r').select(['r.id', 'r.created_at']);
    if (q.date) {
      query = query.where((eb) =>
        eb.or([
          eb('r.requested_date', '=', q.date!),
          eb.exists(
            eb
              .selectFrom('sync_run_schools as s')
              .select('s.run_id')
              .whereRef('s.run_id', '=', 'r.id')
              .where('s.date', '=', q.date!),
          ),
        ]),
      );
    }
    if (after)
      query = query.where((eb) =>
        eb(eb.refTuple('r.created_at', 'r.id'), '<', eb.tuple(new Date(after[0]), after[1])),
      );
    const rows = await query
      .orderBy('r.created_at', 'desc')
      .orderBy('r.id', 'desc')
      .limit(q.limit + 1)
      .execute();
    const { items, nextCursor } = page(rows, q.limit, (r) => [r.created_at.toISOString(), r.id]);
    return { runs: await Promise.all(items.map((r) => runView(deps, r.id))), nextCursor };
  });

  app.post('/v1/admin/sync-runs/:runId/release', async (req, reply) => {
    requireStateAdmin(actorOf(req), 'release held sync runs');
    const { runId } = parseOr400(RunParams, req.params, 'path');
    if (!(await getRun(deps.db, runId))) throw notFound(`Sync run ${runId}`);
    const released = await deps.db
      .updateTable('sync_run_schools')
      .set({ status: 'pending', released: true })
      .where('run_id', '=', runId)
      .where('status', '=', 'held')
      .returning('high_school_id')
      .execute();
    if (released.length === 0)
      throw new ApiError('conflict', `Sync run ${runId} has nothing held to release.`);
    await enqueueRunSchools(plan, runId);
    deps.log.info({ runId, schools: released.map((r) => r.high_school_id) }, 'held sync released');
    return reply.code(202).send(await runView(deps, runId));
  });

  app.get('/v1/high-schools/:schoolId/unknowns', async (req) => {
    const actor = actorOf(req);
    const { schoolId } = parseOr400(UnknownsParams, req.params, 'path');
    requireSelfOrAdmin(actor, schoolId, `read another school's unknowns`, ['high_school']);
    const q = parseOr400(UnknownsQuery, req.query, 'query');
    const after = decodeCursor(q.cursor, [CursorPart.date, CursorPart.id, CursorPart.index]);
    let query = deps.db
      .selectFrom('hs_attendance as h')
      .leftJoin('attendance as a', (j) =>
        j
          .onRef('a.student_id', '=', 'h.student_id')
          .onRef('a.kts_course_number', '=', 'h.kts_course_number')
          .onRef('a.date', '=', 'h.date'),
      )
      .select([
        'h.student_id',
        'h.date',
        'h.period',
        'h.status',
        'h.tech_school_id',
        'h.kts_course_number',
        'h.synced_at',
        'h.excuse',
        'h.code',
        'a.excuse as tech_excuse',
      ])
      .where('h.home_school_id', '=', schoolId)
      .where('h.source', '=', 'sync');
    if (q.from) query = query.where('h.date', '>=', q.from);
    if (q.to) query = query.where('h.date', '<=', q.to);
    if (q.resolved === true) query = query.where('h.excuse', '<>', 'unknown');
    if (q.resolved === false) query = query.where('h.excuse', '=', 'unknown');
    if (after) {
      query = query.where(
        sql<boolean>`(h.date, h.student_id, h.period) > (${after[0]}::date, ${after[1]}, ${after[2]}::int)`,
      );
    }
    const rows = await query
      .orderBy('h.date')
      .orderBy('h.student_id')
      .orderBy('h.period')
      .limit(q.limit + 1)
      .execute();
    const { items, nextCursor } = page(rows, q.limit, (r) => [r.date, r.student_id, r.period]);
    await recordDisclosures(
      deps.db,
      actor,
      deps.clock.now(),
      [...new Set(items.map((r) => r.student_id))].map((studentId) => ({
        studentId,
        record: 'unknown',
        shown: { shown: 'unknowns worklist' },
      })),
    );
    return {
      rows: items.map((r) => ({
        studentId: r.student_id,
        date: r.date,
        period: r.period,
        status: r.status,
        techSchoolId: r.tech_school_id,
        ktsCourseNumber: r.kts_course_number,
        syncedAt: r.synced_at ? r.synced_at.toISOString() : null,
        resolved: r.excuse !== 'unknown',
        excuse: r.excuse,
        code: r.code,
        // The center's excuse now, when it coded the entry after the sync copied it.
        techExcuse: r.tech_excuse && r.tech_excuse !== 'unknown' ? r.tech_excuse : null,
      })),
      nextCursor,
    };
  });
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { newToken, hashToken } from '../../../shared/auth.ts';
import { ApiError, notFound } from '../../../shared/errors.ts';
import { CredentialBody, Cursor, Limit, SchoolId } from '../../../shared/schemas.ts';
import { parseOr400 } from '../../../shared/validation.ts';
import {
  insertCredential,
  listCredentials,
  revokeCredential,
} from '../../../shared/db/repos/credentials.ts';
import { getSchool } from '../../../shared/db/repos/schools.ts';
import { CursorPart, decodeCursor, page } from '../../../shared/pagination.ts';
import { actorOf } from '../auth.ts';
import { requireStateAdmin } from '../access.ts';
import type { ProducerDeps } from '../../deps.ts';

export const ListQuery = z.strictObject({
  schoolId: SchoolId.optional(),
  limit: Limit,
  cursor: Cursor,
});
export const IdParams = z.strictObject({
  credentialId: z.uuid('must be a credential id as returned at creation'),
});

export function credentialRoutes(app: FastifyInstance, deps: ProducerDeps) {
  app.post('/v1/credentials', async (req, reply) => {
    requireStateAdmin(actorOf(req), 'create credentials');
    const body = parseOr400(CredentialBody, req.body, 'request body');
    if (body.schoolId && !(await getSchool(deps.db, body.schoolId))) {
      throw new ApiError(
        'unprocessable',
        `School ${body.schoolId} is not registered; PUT /v1/schools/${body.schoolId} first.`,
      );
    }
    const token = newToken();
    const row = await insertCredential(
      deps.db,
      {
        tokenHash: hashToken(token),
        role: body.role ?? 'school',
        schoolId: body.schoolId ?? null,
        label: body.label ?? null,
      },
      deps.clock.now(),
    );
    deps.log.info(
      { credentialId: row.id, schoolId: body.schoolId, role: body.role ?? 'school' },
      'credential created',
    );
    return reply.code(201).send({ credentialId: row.id, token, label: row.label });
  });

  app.get('/v1/credentials', async (req) => {
    requireStateAdmin(actorOf(req), 'list credentials');
    const q = parseOr400(ListQuery, req.query, 'query');
    const after = decodeCursor(q.cursor, [CursorPart.instant, CursorPart.uuid]);
    const rows = await listCredentials(deps.db, { schoolId: q.schoolId, after, limit: q.limit });
    const { items, nextCursor } = page(rows, q.limit, (r) => [r.created_at.toISOString(), r.id]);
    return {
      credentials: items.map((r) => ({
        credentialId: r.id,
        schoolId: r.school_id,
        // A school credential's role is its school's kind: what it may do follows the kind.
        role: r.role === 'school' ? (r.school_kind ?? 'school') : r.role,
        label: r.label,
        createdAt: r.created_at.toISOString(),
        lastUsedAt: r.last_used_at ? r.last_used_at.toISOString() : null,
      })),
      nextCursor,
    };
  });

  app.delete('/v1/credentials/:credentialId', async (req, reply) => {
    requireStateAdmin(actorOf(req), 'revoke credentials');
    const { credentialId } = parseOr400(IdParams, req.params, 'path');
    if (!(await revokeCredential(deps.db, credentialId, deps.clock.now())))
      throw notFound(`Credential ${credentialId}`);
    deps.log.info({ credentialId }, 'credential revoked');
    return reply.code(204).send();
  });
}

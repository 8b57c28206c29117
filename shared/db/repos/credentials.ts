import { sql } from 'kysely';
import type { Executor } from '../client.ts';

export async function insertCredential(
  db: Executor,
  c: {
    tokenHash: string;
    role: 'school' | 'state_admin' | 'ops';
    schoolId: string | null;
    label: string | null;
  },
  now: Date,
) {
  return db
    .insertInto('credentials')
    .values({
      token_hash: c.tokenHash,
      role: c.role,
      school_id: c.schoolId,
      label: c.label,
      created_at: now,
    })
    .returning(['id', 'label', 'created_at'])
    .executeTakeFirstOrThrow();
}

/** A live credential by token hash, with its school's kind (a school credential acts as that school). */
export const findLiveCredential = (db: Executor, tokenHash: string) =>
  db
    .selectFrom('credentials as c')
    .leftJoin('schools as s', 's.id', 'c.school_id')
    .select(['c.id', 'c.role', 'c.school_id', 's.kind as school_kind', 'c.last_used_at'])
    .where('c.token_hash', '=', tokenHash)
    .where('c.revoked_at', 'is', null)
    .executeTakeFirst();

/** At most one write a minute per credential: `lastUsedAt` is for people, not an audit log. */
export const touchCredential = (db: Executor, id: string, now: Date) =>
  db
    .updateTable('credentials')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb('last_used_at', 'is', null),
        eb('last_used_at', '<', sql<Date>`${now}::timestamptz - interval '1 minute'`),
      ]),
    )
    .execute();

export async function revokeCredential(db: Executor, id: string, now: Date): Promise<boolean> {
  const r = await db
    .updateTable('credentials')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

export async function listCredentials(
  db: Executor,
  q: { schoolId?: string; after: [string, string] | null; limit: number },
) {
  let query = db
    .selectFrom('credentials as c')
    .leftJoin('schools as s', 's.id', 'c.school_id')
    .select([
      'c.id',
      'c.school_id',
      'c.role',
      's.kind as school_kind',
      'c.label',
      'c.created_at',
      'c.last_used_at',
    ])
    .where('c.revoked_at', 'is', null);
  if (q.schoolId) query = query.where('c.school_id', '=', q.schoolId);
  if (q.after) {
    const [at, id] = q.after;
    query = query.where((eb) =>
      eb(eb.refTuple('c.created_at', 'c.id'), '>', eb.tuple(new Date(at), id)),
    );
  }
  return query
    .orderBy('c.created_at')
    .orderBy('c.id')
    .limit(q.limit + 1)
    .execute();
}

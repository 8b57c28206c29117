import { sql } from 'kysely';
import type { Executor } from '../client.ts';
import type { EventRow, EventStatus } from '../schema.ts';
import type { Transaction } from 'kysely';
import type { DB } from '../schema.ts';
import type { Rejection } from '../../domain/rejections.ts';

export interface NewEvent {
  schoolId: string;
  eventId: string;
  type: string;
  body: unknown;
  bodyHash: string;
  occurredAt: string;
  recordCount: number;
  credentialId: string | null;
  receivedAt: Date;
}

/** Durable intake. `undefined` when the identity (school, eventId) is already stored. */
export const insertEvent = (db: Executor, e: NewEvent) =>
  db
    .insertInto('events')
    .values({
      school_id: e.schoolId,
      event_id: e.eventId,
      type: e.type,
      body: JSON.stringify(e.body),
      body_hash: e.bodyHash,
      occurred_at: e.occurredAt,
      record_count: e.recordCount,
      credential_id: e.credentialId,
      received_at: e.receivedAt,
    })
    .onConflict((oc) => oc.columns(['school_id', 'event_id']).doNothing())
    .returning(['seq', 'received_at'])
    .executeTakeFirst();

export const getEventByIdentity = (db: Executor, schoolId: string, eventId: string) =>
  db
    .selectFrom('events')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('event_id', '=', eventId)
    .executeTakeFirst();

export const getEventBySeq = (db: Executor, seq: number) =>
  db.selectFrom('events').selectAll().where('seq', '=', seq).executeTakeFirst();

/**
 * Lock the event row for the apply. A redelivered copy of the job running at the same time waits
 * here, then sees the event already applied: the exactly-once guard lives in this row, not in
 * the queue's job id.
 */
export const lockEvent = (trx: Transaction<DB>, seq: number) =>
  trx.selectFrom('events').selectAll().where('seq', '=', seq).forUpdate().executeTakeFirst();

export async function finishEvent(
  trx: Transaction<DB>,
  seq: number,
  status: Exclude<EventStatus, 'pending'>,
  appliedAt: Date,
): Promise<void> {
  await trx
    .updateTable('events')
    .set({ status, applied_at: appliedAt })
    .where('seq', '=', seq)
    .execute();
}

export async function insertRejections(
  trx: Transaction<DB>,
  event: Pick<EventRow, 'seq' | 'school_id'>,
  rejections: readonly Rejection[],
  at: Date,
): Promise<void> {
  if (rejections.length === 0) return;
  // One statement for the whole event, whatever the number of rejected records.
  await sql`
    insert into event_rejections (event_seq, record_index, school_id, student_id, code, message, at)
    select ${event.seq}, r.i, ${event.school_id}, r.s, r.c, r.m, ${at}::timestamptz
    from unnest(${rejections.map((r) => r.recordIndex)}::int[], ${rejections.map((r) => r.studentId)}::text[],
                ${rejections.map((r) => r.code)}::text[], ${rejections.map((r) => r.message)}::text[]) as r(i, s, c, m)
    on conflict do nothing`.execute(trx);
}

export const rejectionsOf = (db: Executor, seq: number) =>
  db
    .selectFrom('event_rejections')
    .select(['record_index', 'student_id', 'code', 'message'])
    .where('event_seq', '=', seq)
    .orderBy('record_index')
    .execute();

/** Events durable but not applied, oldest first: what the sweeper enqueues again. */
export const pendingEvents = (
  db: Executor,
  receivedBefore: Date,
  afterSeq: number,
  limit: number,
) =>
  db
    .selectFrom('events')
    .select(['seq', 'school_id', 'event_id', 'type'])
    .where('status', '=', 'pending')
    .where('received_at', '<', receivedBefore)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();

export async function countAttempt(db: Executor, seq: number): Promise<void> {
  await db
    .updateTable('events')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('seq', '=', seq)
    .execute();
}

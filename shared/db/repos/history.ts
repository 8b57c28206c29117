import type { Executor } from '../client.ts';
import type { HistoryTable } from '../schema.ts';
import type { ChangeActor } from '../../identity.ts';

export interface HistoryEntry {
  studentId: string;
  record: HistoryTable['record'];
  action: string;
  eventId: string | null;
  before: unknown;
  after: unknown;
  disclosedTo?: string | null;
}

/** Append entries in one statement (a whole event's changes, or a whole roster's disclosure). */
export async function appendHistory(
  db: Executor,
  actor: ChangeActor,
  at: Date,
  entries: readonly HistoryEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('history')
    .values(
      entries.map((e) => ({
        student_id: e.studentId,
        at,
        actor_school_id: actor.schoolId,
        actor_credential_id: actor.credentialId,
        actor_job: actor.job,
        event_id: e.eventId,
        record: e.record,
        action: e.action,
        before: e.before === null || e.before === undefined ? null : JSON.stringify(e.before),
        after: e.after === null || e.after === undefined ? null : JSON.stringify(e.after),
        disclosed_to: e.disclosedTo ?? null,
      })),
    )
    .execute();
}

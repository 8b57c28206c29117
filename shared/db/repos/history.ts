import type { Executor } from '../client.ts';
import type { HistoryTable } from '../schema.ts';
import type { Actor, ChangeActor } from '../../identity.ts';

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

export interface Disclosure {
  studentId: string;
  record: HistoryTable['record'];
  eventId?: string | null;
  /** What was shown (the page or list, and which records). */
  shown: Record<string, unknown>;
}

/**
 * FERPA's record of disclosures (34 CFR 99.32): what a school was shown of students it does not
 * hold the records of, to which school, when. Only a school's reads count; the state office's do not.
 */
export async function recordDisclosures(
  db: Executor,
  reader: Actor,
  at: Date,
  shown: readonly Disclosure[],
): Promise<void> {
  if (reader.kind !== 'school' || shown.length === 0) return;
  await appendHistory(
    db,
    { schoolId: reader.schoolId, credentialId: reader.credentialId, job: null },
    at,
    shown.map((d) => ({
      studentId: d.studentId,
      record: d.record,
      action: 'disclosed',
      eventId: d.eventId ?? null,
      before: null,
      after: d.shown,
      disclosedTo: reader.schoolId,
    })),
  );
}

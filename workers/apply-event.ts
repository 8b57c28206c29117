import { UnrecoverableError } from 'bullmq';
import type { Transaction } from 'kysely';
import type { DB } from '../shared/db/schema.ts';
import { EventBody, type EventType } from '../shared/events.ts';
import { describeIssues } from '../shared/validation.ts';
import { finishEvent, insertRejections, lockEvent } from '../shared/db/repos/events.ts';
import type { Rejection } from '../shared/domain/rejections.ts';
import type { Logger } from '../shared/logger.ts';
import type { ApplyInput } from './apply-input.ts';
import type { WorkerDeps } from './deps.ts';
import { applyAttendance } from './apply-attendance.ts';
import { applyEnrollment } from './apply-enrollment.ts';
import { applyGrades } from './apply-grades.ts';
import { applyAttendanceCoding } from './apply-coding.ts';

type Applier = (trx: Transaction<DB>, input: ApplyInput<never>) => Promise<Rejection[]>;

const appliers: Record<EventType, Applier> = {
  'enrollment-changed': applyEnrollment as Applier,
  'attendance-entered': applyAttendance as Applier,
  'grade-finalized': applyGrades as Applier,
  'attendance-coded': applyAttendanceCoding as Applier,
};

export type ApplyOutcome =
  | { outcome: 'applied' | 'partially_applied' | 'rejected'; rejected: number }
  | { outcome: 'already_applied'; rejected: 0 };

/**
 * Apply one stored event in one transaction. The event row is locked first and its status checked,
 * so a job delivered twice (a redelivery after a stall, a sweeper re-enqueue) has one effect.
 */
export async function applyEvent(
  deps: WorkerDeps,
  eventSeq: number,
  log: Logger,
): Promise<ApplyOutcome> {
  return deps.db.transaction().execute(async (trx) => {
    const event = await lockEvent(trx, eventSeq);
    if (!event)
      throw new UnrecoverableError(`event ${eventSeq} is not stored (was the database reset?)`);
    if (event.status !== 'pending') return { outcome: 'already_applied', rejected: 0 } as const;

    // The stored body is parsed again: it may have been stored by an older deploy.
    const parsed = EventBody.safeParse(event.body);
    if (!parsed.success) {
      throw new UnrecoverableError(
        `stored event ${eventSeq} no longer matches the ${event.type} schema: ${describeIssues(parsed.error)}`,
      );
    }
    const applier = appliers[parsed.data.type];

    const now = deps.clock.now();
    const rejections = await applier(trx, {
      event,
      body: parsed.data as never,
      now,
      actor: { schoolId: event.school_id, credentialId: event.credential_id, job: null },
      log,
    });
    await insertRejections(trx, event, rejections, now);
    const outcome =
      rejections.length === 0
        ? 'applied'
        : rejections.length >= event.record_count
          ? 'rejected'
          : 'partially_applied';
    await finishEvent(trx, eventSeq, outcome, now);
    return { outcome, rejected: rejections.length };
  });
}

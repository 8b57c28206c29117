import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import { EventJobData } from '../shared/queues/index.ts';
import { isPermanentDbError, isTransientDbError, isUniqueViolation } from '../shared/errors.ts';
import { countAttempt, getEventBySeq } from '../shared/db/repos/events.ts';
import { describeIssues } from '../shared/validation.ts';
import type { WorkerDeps } from './deps.ts';
import { applyEvent, type ApplyOutcome } from './apply-event.ts';

interface QueueContract {
  name: string;
  jobName: string;
}

/**
 * The shell every event queue's processor shares: parse the job (it may come from an older deploy),
 * apply the stored event, and sort failures into "retry" (the database is away) and "never retry"
 * (the job or the data is wrong, and would be wrong again).
 */
export function eventProcessor(
  queue: QueueContract,
  deps: WorkerDeps,
): Processor<unknown, ApplyOutcome> {
  return async (job: Job<unknown, ApplyOutcome>) => {
    if (job.name !== queue.jobName) {
      throw new UnrecoverableError(
        `job ${job.id} on ${queue.name} is named "${job.name}"; this queue runs "${queue.jobName}" jobs`,
      );
    }
    const data = EventJobData.safeParse(job.data);
    if (!data.success) {
      throw new UnrecoverableError(
        `job ${job.id} on ${queue.name} has no valid event reference: ${describeIssues(data.error)}`,
      );
    }
    const log = deps.log.child({
      queue: queue.name,
      jobId: job.id,
      eventSeq: data.data.eventSeq,
      schoolId: data.data.schoolId,
      eventId: data.data.eventId,
      attempt: job.attemptsMade + 1,
    });
    try {
      const result = await applyEvent(deps, data.data.eventSeq, log);
      log.info({ outcome: result.outcome, rejected: result.rejected }, 'event applied');
      return result;
    } catch (err) {
      if (err instanceof UnrecoverableError) {
        log.error({ err }, 'event cannot be applied; not retrying');
        throw err;
      }
      // The guard is the event row, locked first, so a duplicate delivery never gets here; but if
      // another writer applied the event and a unique key tripped, the effect exists once.
      if (
        isUniqueViolation(err) &&
        (await getEventBySeq(deps.db, data.data.eventSeq))?.status !== 'pending'
      ) {
        log.warn({ err }, 'event already applied by a concurrent delivery');
        return { outcome: 'already_applied', rejected: 0 };
      }
      await countAttempt(deps.db, data.data.eventSeq).catch(() => {});
      if (isTransientDbError(err)) {
        log.warn({ err }, 'database unavailable; will retry with backoff');
        throw err;
      }
      if (isPermanentDbError(err)) {
        // A constraint or data error fails the same way every time: fail now, visibly (the event
        // stays pending and the job waits in `failed` for a person), instead of 40 retries.
        log.error({ err }, 'apply hit a permanent database error; not retrying');
        throw new UnrecoverableError(
          `event ${data.data.eventSeq} cannot be applied: database error ${(err as { code?: string }).code}`,
        );
      }
      log.error({ err }, 'apply failed; will retry with backoff');
      throw err;
    }
  };
}

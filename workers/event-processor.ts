import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import { EventJobData } from '../shared/queues/index.ts';
import { isTransientDbError, isUniqueViolation } from '../shared/errors.ts';
import type { WorkerDeps } from './deps.ts';
import { applyEvent, type ApplyOutcome } from './apply-event.ts';

interface QueueContract {
  name: string;
  jobName: string;
}

/**
 * The shell every event queue's processor shares: parse the job (it may come from an older deploy),
 * apply the stored event, and sort failures into "retry" and "never retry".
 */
export function eventProcessor(
  queue: QueueContract,
  deps: WorkerDeps,
): Processor<unknown, ApplyOutcome> {
  return async (job: Job<unknown, ApplyOutcome>) => {
    const data = EventJobData.safeParse(job.data);
    if (job.name !== queue.jobName || !data.success) {
      throw new UnrecoverableError(
        `job ${job.id} on ${queue.name} is not a ${queue.jobName} job with an event reference`,
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
      // Another copy of this job won the race to the idempotency key: the effect exists once.
      if (isUniqueViolation(err)) {
        log.warn({ err }, 'event already applied by a concurrent delivery');
        return { outcome: 'already_applied', rejected: 0 };
      }
      if (isTransientDbError(err))
        log.warn({ err }, 'database unavailable; will retry with backoff');
      else log.error({ err }, 'apply failed; will retry with backoff');
      throw err;
    }
  };
}

import { UnrecoverableError, type Job, type Processor, type Queue } from 'bullmq';
import { syncQueue } from '../shared/queues/sync.ts';
import { isTransientDbError } from '../shared/errors.ts';
import { finishRunSchool } from '../shared/db/repos/sync.ts';
import { planScheduledRun } from '../shared/sync-plan.ts';
import type { WorkerDeps } from './deps.ts';
import { syncSchool } from './sync-school.ts';

/**
 * The sync queue's one processor: `nightly` plans the night and fans out; `sync-school` does one
 * school. A school that keeps failing is marked failed in its run report, and the others go on.
 */
export function syncProcessor(deps: WorkerDeps & { syncQueue: Queue }): Processor {
  return async (job: Job) => {
    const log = deps.log.child({
      queue: syncQueue.name,
      jobId: job.id,
      jobName: job.name,
      attempt: job.attemptsMade + 1,
    });
    if (job.name === syncQueue.jobs.nightly) {
      const data = syncQueue.nightlyPayload.safeParse(job.data);
      if (!data.success) throw new UnrecoverableError(`nightly job ${job.id} has no timezone`);
      // The intended fire time, not the processing time: a late job still covers its own night.
      const fireAt = new Date(
        (job.opts as { prevMillis?: number }).prevMillis ?? job.timestamp + (job.opts.delay ?? 0),
      );
      return planScheduledRun(
        { db: deps.db, clock: deps.clock, log, queue: deps.syncQueue },
        data.data.timezone,
        fireAt,
      );
    }
    if (job.name !== syncQueue.jobs.school)
      throw new UnrecoverableError(`unknown job ${job.name} on the sync queue`);
    const data = syncQueue.schoolPayload.safeParse(job.data);
    if (!data.success)
      throw new UnrecoverableError(`sync-school job ${job.id} is not a valid school reference`);
    try {
      const outcome = await syncSchool(deps, data.data);
      log.info(
        {
          runId: data.data.runId,
          highSchoolId: data.data.highSchoolId,
          date: data.data.date,
          outcome,
        },
        'school synced',
      );
      return outcome;
    } catch (err) {
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (isTransientDbError(err) && !last) {
        log.warn({ err }, 'sync failed; will retry');
        throw err;
      }
      log.error({ err, highSchoolId: data.data.highSchoolId }, 'school sync failed for good');
      await finishRunSchool(deps.db, data.data.runId, data.data.highSchoolId, {
        status: 'failed',
        // The reason stays in the worker's log (with the job id); the report says where to look.
        detail: `failed after ${job.attemptsMade + 1} attempt(s); see the worker log for job ${job.id}`,
        now: deps.clock.now(),
      }).catch((e: unknown) => log.error({ err: e }, 'could not record the failure'));
      throw new UnrecoverableError(
        `sync of ${data.data.highSchoolId} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  };
}

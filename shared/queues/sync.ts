import { z } from 'zod';
import type { DefaultJobOptions } from 'bullmq';
import { BACKOFF } from './event-job.ts';

/**
 * The nightly unknown-attendance sync. A job scheduler per time zone fires `nightly` at 01:30
 * local (KTS_SYNC_AT); it plans a run in Postgres and fans out one `sync-school` job per opted-in
 * high school, each idempotent and retried on its own.
 */
export const syncQueue = {
  name: 'sync',
  jobs: { nightly: 'nightly', school: 'sync-school' },
  eventTypes: [] as string[],
  nightlyPayload: z.strictObject({ timezone: z.string() }),
  schoolPayload: z.strictObject({
    runId: z.uuid(),
    highSchoolId: z.string(),
    date: z.string(),
    released: z.boolean().optional(),
  }),
  defaultJobOptions: {
    attempts: 12,
    backoff: { type: BACKOFF },
    removeOnComplete: { age: 7 * 24 * 3600, count: 2000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
  } satisfies DefaultJobOptions,
} as const;

export type SyncSchoolJob = z.infer<typeof syncQueue.schoolPayload>;

/** Job scheduler ids are per zone; `:` is fine in scheduler ids (BullMQ builds `repeat:<id>:<ms>`). */
export const schedulerId = (timezone: string) =>
  `nightly-sync-${timezone.replace(/[^A-Za-z0-9]/g, '-')}`;
export const schoolJobId = (runId: string, highSchoolId: string, attempt = 0) =>
  `sync-${runId}-${highSchoolId}${attempt ? `-r${attempt}` : ''}`;

/** `01:30` → a six-field cron pattern (seconds first), fired in the zone given to the scheduler. */
export function cronAt(hhmm: string): string {
  const [h, m] = hhmm.split(':').map(Number);
  return `0 ${m} ${h} * * *`;
}

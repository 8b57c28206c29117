import { z } from 'zod';
import type { DefaultJobOptions } from 'bullmq';

/**
 * What an event job carries: a reference to the stored event, never its records, so no student
 * data sits in Redis or on the dashboard. The worker reads the body from Postgres.
 */
export const EventJobData = z.strictObject({
  eventSeq: z.number().int().positive(),
  schoolId: z.string(),
  eventId: z.string(),
});
export type EventJobData = z.infer<typeof EventJobData>;

/** BullMQ refuses `:` and all-digit custom ids; a prefix on the stored sequence number avoids both. */
export const eventJobId = (eventSeq: number) => `evt-${eventSeq}`;

/** The backoff strategy name the workers register (see `backoffDelay`). */
export const BACKOFF = 'capped-jitter';

/**
 * Exponential backoff with full jitter, capped at a minute: an outage of Postgres for a few minutes
 * must not exhaust a job into `failed`, and retries from many workers must not arrive in lockstep.
 */
export function backoffDelay(attemptsMade: number, random = Math.random): number {
  const base = Math.min(60_000, 500 * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

export const eventJobOptions: DefaultJobOptions = {
  // A transient failure (the database away) must never exhaust a job: a failed job keeps its id, so
  // the sweeper could not re-add it, and an acknowledged event would wait for a person. At the
  // one-minute cap this is months of retries; permanent errors fail at once (UnrecoverableError).
  attempts: 100_000,
  backoff: { type: BACKOFF },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 14 * 24 * 3600, count: 10_000 },
};

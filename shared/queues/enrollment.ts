import { EventJobData, eventJobOptions } from './event-job.ts';

/** High school → center: `enrollment-changed` builds and ends the center's roster. */
export const enrollmentQueue = {
  name: 'enrollment',
  jobName: 'apply-enrollment',
  eventTypes: ['enrollment-changed'],
  payload: EventJobData,
  defaultJobOptions: eventJobOptions,
} as const;

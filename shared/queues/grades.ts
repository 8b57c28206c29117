import { EventJobData, eventJobOptions } from './event-job.ts';

/** Posted grades from centers and high schools: report cards, transcripts, eligibility. */
export const gradesQueue = {
  name: 'grades',
  jobName: 'apply-grades',
  eventTypes: ['grade-finalized'],
  payload: EventJobData,
  defaultJobOptions: eventJobOptions,
} as const;

import { EventJobData, eventJobOptions } from './event-job.ts';

/** Center → high school (`attendance-entered`) and the high school's own coding (`attendance-coded`). */
export const attendanceQueue = {
  name: 'attendance',
  jobName: 'apply-attendance',
  eventTypes: ['attendance-entered', 'attendance-coded'],
  payload: EventJobData,
  defaultJobOptions: eventJobOptions,
} as const;

import type { EventType } from '../events.ts';
import { attendanceQueue } from './attendance.ts';
import { enrollmentQueue } from './enrollment.ts';
import { gradesQueue } from './grades.ts';
import { syncQueue } from './sync.ts';

export { attendanceQueue, enrollmentQueue, gradesQueue, syncQueue };
export * from './event-job.ts';

/** Every queue that carries events; workers refuse to boot unless each has exactly one processor. */
export const EVENT_QUEUES = [enrollmentQueue, attendanceQueue, gradesQueue] as const;
/** Every queue: each needs exactly one processor, and the dashboard shows them all. */
export const ALL_QUEUE_NAMES = [...EVENT_QUEUES.map((q) => q.name), syncQueue.name];

export type EventQueueName = (typeof EVENT_QUEUES)[number]['name'];

export function queueForEventType(type: EventType): (typeof EVENT_QUEUES)[number] {
  const q = EVENT_QUEUES.find((q) => (q.eventTypes as readonly string[]).includes(type));
  if (!q) throw new Error(`no queue carries events of type ${type}`);
  return q;
}

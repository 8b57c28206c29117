import { attendanceQueue } from '../shared/queues/index.ts';
import type { WorkerDeps } from './deps.ts';
import { eventProcessor } from './event-processor.ts';

export const attendanceProcessor = (deps: WorkerDeps) => eventProcessor(attendanceQueue, deps);

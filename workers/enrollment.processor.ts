import { enrollmentQueue } from '../shared/queues/index.ts';
import type { WorkerDeps } from './deps.ts';
import { eventProcessor } from './event-processor.ts';

export const enrollmentProcessor = (deps: WorkerDeps) => eventProcessor(enrollmentQueue, deps);

import { gradesQueue } from '../shared/queues/index.ts';
import type { WorkerDeps } from './deps.ts';
import { eventProcessor } from './event-processor.ts';

export const gradesProcessor = (deps: WorkerDeps) => eventProcessor(gradesQueue, deps);

import { Queue, Worker, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import { ALL_QUEUE_NAMES, BACKOFF, backoffDelay, syncQueue } from '../shared/queues/index.ts';
import { createRedis } from '../shared/redis.ts';
import type { WorkerDeps } from './deps.ts';
import { attendanceProcessor } from './attendance.processor.ts';
import { enrollmentProcessor } from './enrollment.processor.ts';
import { gradesProcessor } from './grades.processor.ts';
import { syncProcessor } from './sync.processor.ts';

type Registration = { queue: string; processor: Processor };

export function registrations(deps: WorkerDeps & { syncQueue: Queue }): Registration[] {
  return [
    { queue: 'enrollment', processor: enrollmentProcessor(deps) },
    { queue: 'attendance', processor: attendanceProcessor(deps) },
    { queue: 'grades', processor: gradesProcessor(deps) },
    { queue: 'sync', processor: syncProcessor(deps) },
  ];
}

/** Refuse to boot when a queue has no processor or two (a job nobody consumes waits forever). */
export function checkRegistrations(
  regs: readonly Registration[],
  queues: readonly string[] = ALL_QUEUE_NAMES,
) {
  for (const q of queues) {
    const n = regs.filter((r) => r.queue === q).length;
    if (n !== 1) throw new Error(`queue "${q}" has ${n} processors; it needs exactly one`);
  }
  for (const r of regs) {
    if (!queues.includes(r.queue))
      throw new Error(`processor registered for unknown queue "${r.queue}"`);
  }
}

export interface RunningWorkers {
  workers: Worker[];
  close(deadlineMs: number): Promise<{ forced: boolean }>;
}

export async function startWorkers(deps: WorkerDeps): Promise<RunningWorkers> {
  const { config, log } = deps;
  const connections: Redis[] = [];
  // The nightly job fans out onto its own queue, so the sync processor needs a producer of it.
  const fanOut = createRedis(config.REDIS_URL, 'worker');
  connections.push(fanOut);
  const syncFanOut = new Queue(syncQueue.name, {
    connection: fanOut,
    prefix: config.KTS_QUEUE_PREFIX,
    defaultJobOptions: syncQueue.defaultJobOptions,
  });
  syncFanOut.on('error', (err) => log.warn({ err }, 'sync queue error'));
  const regs = registrations({ ...deps, syncQueue: syncFanOut });
  checkRegistrations(regs);
  const workers = regs.map(({ queue, processor }) => {
    const connection = createRedis(config.REDIS_URL, 'worker');
    connections.push(connection);
    const worker = new Worker(queue, processor, {
      connection,
      prefix: config.KTS_QUEUE_PREFIX,
      concurrency: config.KTS_WORKER_CONCURRENCY,
      lockDuration: config.KTS_LOCK_DURATION_MS,
      stalledInterval: config.KTS_STALLED_INTERVAL_MS,
      // A job whose worker died twice is worth a person's look, but one crash must not fail it.
      maxStalledCount: 2,
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string) =>
          type === BACKOFF ? backoffDelay(attemptsMade) : -1,
      },
    });
    worker.on('error', (err) => log.error({ err, queue }, 'worker error'));
    worker.on('stalled', (jobId) => log.warn({ queue, jobId }, 'job stalled; it will run again'));
    worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1))
        log.error({ queue, jobId: job.id, err }, 'job failed for good');
    });
    return worker;
  });
  // Not awaited: with Redis away at boot the process must still serve (the API answers 202 from
  // Postgres alone, /readyz says what is missing); the workers connect when Redis is back.
  Promise.all(workers.map((w) => w.waitUntilReady())).then(
    () =>
      log.info(
        { queues: regs.map((r) => r.queue), concurrency: config.KTS_WORKER_CONCURRENCY },
        'workers started',
      ),
    (err: unknown) => log.warn({ err }, 'workers are waiting for Redis'),
  );

  return {
    workers,
    async close(deadlineMs: number) {
      // Stop fetching and let in-flight jobs finish; past the deadline, force: the jobs' locks lapse
      // and another worker picks them up as stalled.
      let forced = false;
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timer = new Promise<'timeout'>((r) =>
        setTimeout(() => r('timeout'), deadlineMs).unref(),
      );
      if ((await Promise.race([graceful.then(() => 'done' as const), timer])) === 'timeout') {
        forced = true;
        log.warn({ deadlineMs }, 'workers did not finish in time; forcing close');
        await Promise.all(workers.map((w) => w.close(true)));
      }
      await syncFanOut.close();
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      return { forced };
    },
  };
}

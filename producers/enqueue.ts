import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  EVENT_QUEUES,
  eventJobId,
  queueForEventType,
  syncQueue,
  type EventJobData,
} from '../shared/queues/index.ts';
import { createRedis } from '../shared/redis.ts';
import type { EventType } from '../shared/events.ts';
import type { Logger } from '../shared/logger.ts';

export interface EventRef extends EventJobData {
  type: EventType;
}

export interface Enqueuer {
  /** True when the job is in Redis; false when Redis could not take it (the sweeper will). */
  enqueue(ref: EventRef): Promise<boolean>;
  enqueueMany(refs: readonly EventRef[]): Promise<number>;
  /** The nightly sync's queue: manual runs and the scheduler add to it. */
  syncQueue: Queue;
  /** Every queue, for the dashboard and metrics. */
  queues: Queue[];
  close(): Promise<void>;
}

const ENQUEUE_TIMEOUT_MS = 2_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`enqueue timed out after ${ms} ms`)), ms).unref(),
    ),
  ]);
}

export function createEnqueuer(opts: { redisUrl: string; prefix: string; log: Logger }): Enqueuer {
  const connection: Redis = createRedis(opts.redisUrl, 'producer');
  connection.on('error', () => {}); // reported through failed adds; ioredis keeps reconnecting
  const queues = new Map(
    EVENT_QUEUES.map((q) => {
      const queue = new Queue(q.name, {
        connection,
        prefix: opts.prefix,
        defaultJobOptions: q.defaultJobOptions,
        // The events stream is capped so Redis memory stays bounded.
        streams: { events: { maxLen: 10_000 } },
      });
      queue.on('error', (err) => opts.log.warn({ err, queue: q.name }, 'queue error'));
      return [q.name, { queue, jobName: q.jobName }] as const;
    }),
  );
  const sync = new Queue(syncQueue.name, {
    connection,
    prefix: opts.prefix,
    defaultJobOptions: syncQueue.defaultJobOptions,
    streams: { events: { maxLen: 10_000 } },
  });
  sync.on('error', (err) => opts.log.warn({ err, queue: syncQueue.name }, 'queue error'));
  const target = (type: EventType) => queues.get(queueForEventType(type).name)!;
  const data = (r: EventRef): EventJobData => ({
    eventSeq: r.eventSeq,
    schoolId: r.schoolId,
    eventId: r.eventId,
  });

  return {
    syncQueue: sync,
    queues: [...[...queues.values()].map((q) => q.queue), sync],
    async enqueue(ref) {
      const { queue, jobName } = target(ref.type);
      try {
        await withTimeout(
          queue.add(jobName, data(ref), { jobId: eventJobId(ref.eventSeq) }),
          ENQUEUE_TIMEOUT_MS,
        );
        return true;
      } catch (err) {
        opts.log.warn(
          { err, eventSeq: ref.eventSeq, queue: queue.name },
          'enqueue failed; the event waits in Postgres for the sweeper',
        );
        return false;
      }
    },
    async enqueueMany(refs) {
      let n = 0;
      for (const [name, { queue, jobName }] of queues) {
        const mine = refs.filter((r) => queueForEventType(r.type).name === name);
        if (mine.length === 0) continue;
        // A job id already in Redis (waiting, active, delayed, failed) is ignored by BullMQ.
        await withTimeout(
          queue.addBulk(
            mine.map((r) => ({
              name: jobName,
              data: data(r),
              opts: { jobId: eventJobId(r.eventSeq) },
            })),
          ),
          ENQUEUE_TIMEOUT_MS * 5,
        );
        n += mine.length;
      }
      return n;
    },
    async close() {
      await Promise.all([...[...queues.values()].map((q) => q.queue.close()), sync.close()]);
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

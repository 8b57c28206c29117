import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';
import { sql } from 'kysely';
import type { Db } from '../shared/db/client.ts';

/**
 * Prometheus metrics: the process's own, queue depth by state (what to autoscale workers on), and
 * the events durable in Postgres but not yet applied (what to page on: it should drain to zero).
 */
export function createMetrics(opts: { db: Db; queues: Queue[] }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'kts_queue_jobs',
    help: 'Jobs on each queue by state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      for (const q of opts.queues) {
        const counts = await q.getJobCounts(
          'waiting',
          'active',
          'delayed',
          'failed',
          'completed',
          'prioritized',
        );
        for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
      }
    },
  });
  new Gauge({
    name: 'kts_events_pending',
    help: 'Events stored durably and not yet applied',
    registers: [registry],
    async collect() {
      const r = await sql<{
        n: number;
      }>`select count(*)::int as n from events where status = 'pending'`.execute(opts.db);
      this.set(r.rows[0]?.n ?? 0);
    },
  });
  return registry;
}

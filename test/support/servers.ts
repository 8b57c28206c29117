import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, inject } from 'vitest';
import { Queue, type QueueOptions } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { sql } from 'kysely';
import type { Db } from '../../shared/db/client.ts';
import { onCleanup } from './processes.ts';

/**
 * Servers and server-side handles for the fault tests: Redis and Postgres the test may break
 * (a private redis-server, a proxy in front of Postgres) without touching the shared ones, queues
 * on a test's prefix, and Postgres locks held from the side. Everything is undone by `cleanUp`.
 */

/** A TCP port nothing listens on right now (the OS picks it; closed again before it returns). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A redis-server of the test's own that can be SIGKILLed and started again, empty, on its port. */
export class PrivateRedis {
  proc: ChildProcess | null = null;
  private dirs: string[] = [];
  constructor(
    readonly port: number,
    private readonly extra: string[] = [],
  ) {}

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start it with nothing persisted (its own empty directory); resolves once it takes connections. */
  async start(): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'kts-redis-'));
    this.dirs.push(dir);
    const proc = spawn(
      'redis-server',
      [
        ...['--port', String(this.port), '--bind', '127.0.0.1', '--save', ''],
        ...['--appendonly', 'no', '--daemonize', 'no', '--dir', dir, ...this.extra],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server on ${this.port} not ready: ${out}`)),
        10_000,
      );
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${this.port} exited ${code}: ${out}`));
      });
    });
  }

  /** SIGKILL: what the clients see when the Redis host dies. Its data is gone with it. */
  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/** A started PrivateRedis on a free port (extra redis-server flags after the defaults). */
export async function startPrivateRedis(extra: string[] = []): Promise<PrivateRedis> {
  const redis = new PrivateRedis(await freePort(), extra);
  onCleanup(() => redis.stop());
  await redis.start();
  return redis;
}

/**
 * A TCP proxy in front of the shared Postgres with a switch. Down: every open connection is cut and
 * every new one is closed as soon as it is accepted, which is what a client sees when the database
 * host goes away. Up: connections pass through again. The shared server itself is never touched.
 */
export class PgProxy {
  private server: Server;
  private sockets = new Set<Socket>();
  private isUp = true;
  port = 0;
  refused = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  private accept(client: Socket) {
    if (!this.isUp) {
      this.refused += 1;
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }

  listen(): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(0, '127.0.0.1', () => {
        const a = this.server.address();
        this.port = typeof a === 'object' && a ? a.port : 0;
        resolve(this.port);
      }),
    );
  }

  /** `databaseUrl` (same database and user) reached through the proxy. */
  url(databaseUrl: string): string {
    const u = new URL(databaseUrl);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  down() {
    this.isUp = false;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  up() {
    this.isUp = true;
  }

  async close() {
    this.down();
    await new Promise((r) => this.server.close(r));
  }
}

/** A listening PgProxy in front of the shared Postgres, closed by `cleanUp`. */
export async function startPgProxy(): Promise<PgProxy> {
  const target = new URL(inject('databaseUrl'));
  const proxy = new PgProxy(target.hostname, Number(target.port || 5432));
  await proxy.listen();
  onCleanup(() => proxy.close());
  return proxy;
}

/**
 * Opens BullMQ queues on a test's prefix of the shared Redis, all on one connection of their own
 * (BullMQ wants maxRetriesPerRequest null); `cleanUp` closes them, then the connection.
 */
export function prefixQueues(prefix: string): {
  redis: Redis;
  open(name: string, opts?: Omit<QueueOptions, 'connection' | 'prefix'>): Queue;
} {
  const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  const opened: Queue[] = [];
  onCleanup(async () => {
    for (const q of opened) await q.close();
    redis.disconnect();
  });
  return {
    redis,
    open(name, opts = {}) {
      const q = new Queue(name, { ...opts, connection: redis, prefix });
      opened.push(q);
      return q;
    },
  };
}

/** Expect `queue` drained: no job active, waiting, delayed, prioritized or failed; `n` completed. */
export async function expectDrained(queue: Queue, n: number) {
  const counts = await queue.getJobCounts(
    'active',
    'waiting',
    'delayed',
    'prioritized',
    'failed',
    'completed',
  );
  expect(counts).toEqual({
    active: 0,
    waiting: 0,
    delayed: 0,
    prioritized: 0,
    failed: 0,
    completed: n,
  });
  const jobs = await queue.getJobs(['completed']);
  expect(jobs).toHaveLength(n);
  return { counts, jobs };
}

/** A Postgres client of its own, to hold locks across a test; `cleanUp` rolls back and closes it. */
export async function lockClient(databaseUrl: string): Promise<pg.Client> {
  const lock = new pg.Client({ connectionString: databaseUrl });
  await lock.connect();
  onCleanup(async () => {
    await lock.query('rollback').catch(() => undefined);
    await lock.end();
  });
  return lock;
}

/**
 * Begin a transaction on `lock` and take the advisory lock every attendance apply of that
 * section-day takes: applies then wait inside their transactions until the test commits.
 */
export async function holdSectionDay(lock: pg.Client, kts: string, date: string): Promise<void> {
  await lock.query('begin');
  await lock.query(`select pg_advisory_xact_lock(hashtextextended($1, 0))`, [
    `attendance:${kts}:${date}`,
  ]);
}

/** Advisory lock requests not granted yet (pg_locks is a live view, fine on the holder's client). */
export async function advisoryWaiters(lock: pg.Client): Promise<number> {
  const r = await lock.query<{ n: string }>(
    `select count(*) as n from pg_locks where locktype = 'advisory' and not granted`,
  );
  return Number(r.rows[0]!.n);
}

/**
 * Lock waits in `db`'s database, with the application that waits. Ask outside the lock holder's
 * transaction: pg_stat_activity is a snapshot taken once per transaction, so a backend that
 * connects later would never show up there.
 */
export async function lockWaits(db: Db): Promise<Array<{ app: string; locktype: string }>> {
  const r = await sql<{ app: string; locktype: string }>`
    select a.application_name as app, l.locktype
      from pg_locks l join pg_stat_activity a on a.pid = l.pid
     where not l.granted and a.datname = current_database()`.execute(db);
  return r.rows;
}

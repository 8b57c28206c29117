import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';

export type Db = Kysely<DB>;
/** Repositories take either; functions that lock rows ask for a Transaction. */
export type Executor = Kysely<DB> | Transaction<DB>;

// Deliberate type parsing (Kysely's data-types recipe): dates stay YYYY-MM-DD strings so a school's
// calendar day never shifts through a JS Date in the server's zone; bigint ids fit in a double.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export interface DbOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
}

export function createDb({ connectionString, max = 10, applicationName = 'kts' }: DbOptions): Db {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: applicationName,
    connectionTimeoutMillis: 5_000,
    // A statement stuck behind a lock for this long is a bug or an outage; fail it so the job retries.
    statement_timeout: 30_000,
    idleTimeoutMillis: 30_000,
  });
  // A client that loses its server (Postgres restarted, connections cut) emits 'error'; with no
  // listener that is an uncaught exception that kills the process. The pool listens for idle
  // clients only, so every client gets its own listener too: the query in flight still rejects
  // (and the job retries), the process stays up.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}

import { sql, type Transaction } from 'kysely';
import type { DB } from '../schema.ts';

/**
 * Serialise applies that touch the same natural keys (a section's day of attendance, a student's
 * seat in a section) for the rest of the transaction. Row locks alone cannot cover rows that do not
 * exist yet, and the history's "before" must be read under the same lock as the write.
 */
export async function lockKey(trx: Transaction<DB>, key: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
}

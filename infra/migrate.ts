import { z } from 'zod';
import { createDb } from '../shared/db/client.ts';
import { migrateToLatest } from '../shared/db/migrate.ts';

/** `npm run migrate`: the same migrations `npm start` runs, under the same lock. Needs only DATABASE_URL. */
const url = z
  .string()
  .default('postgres://postgres@127.0.0.1:5432/kts')
  .parse(process.env.DATABASE_URL || undefined);
const db = createDb({ connectionString: url, max: 1, applicationName: 'kts-migrate' });
try {
  const r = await migrateToLatest(db);
  const ran = r.results ?? [];
  for (const m of ran)
    console.log(`${m.status === 'Success' ? 'applied' : m.status}: ${m.migrationName}`);
  if (ran.length === 0) console.log('database is up to date');
} catch (err) {
  console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}

import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../shared/config.ts';
import { createClock } from '../shared/clock.ts';
import { createDb } from '../shared/db/client.ts';
import { createLogger } from '../shared/logger.ts';
import { ApiError } from '../shared/errors.ts';
import { getRun, runStatus } from '../shared/db/repos/sync.ts';
import { syncNow } from '../workers/sync-school.ts';

/**
 * `npm run sync -- --date 2027-01-19 [--school ID]`: a backfill (or a run now, without --date) from
 * the command line. Same plan and same per-school apply as the nightly job and the admin route,
 * run in this process so it works without workers; prints the run report.
 */
const { values } = parseArgs({
  options: { date: { type: 'string' }, school: { type: 'string' } },
  strict: true,
});
// The CLI never checks tokens; the admin token is required only to serve the API.
const config = loadConfigOrExit('sync', {
  LOG_LEVEL: 'warn',
  KTS_ADMIN_TOKEN: 'not-used-by-the-sync-command',
  ...process.env,
});
const log = createLogger(config.LOG_LEVEL);
const clock = createClock(config.KTS_NOW);
const db = createDb({
  connectionString: config.DATABASE_URL,
  max: 2,
  applicationName: 'kts-sync-cli',
});
try {
  const runId = await syncNow(
    { config, db, clock, log },
    { date: values.date, highSchoolId: values.school, by: 'cli' },
  );
  const r = (await getRun(db, runId))!;
  console.log(`run ${runId}: ${runStatus(r.schools.map((s) => s.status))}`);
  for (const s of r.schools) {
    console.log(
      `  ${s.high_school_id.padEnd(12)} ${s.date}  ${s.status.padEnd(22)} candidates ${s.candidates}, created ${s.created}, ` +
        `already present ${s.already_present}, errors ${s.errors}${s.detail ? `  (${s.detail})` : ''}`,
    );
  }
} catch (err) {
  process.stderr.write(
    `sync: ${err instanceof ApiError ? err.message : err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exitCode = 1;
} finally {
  await db.destroy();
}

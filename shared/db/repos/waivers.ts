import type { Executor } from '../client.ts';

export async function hasApprovedWaiver(
  db: Executor,
  schoolId: string,
  schoolYear: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('waivers')
    .select('id')
    .where('school_id', '=', schoolId)
    .where('school_year', '=', schoolYear)
    .where('status', '=', 'approved')
    .executeTakeFirst();
  return row !== undefined;
}

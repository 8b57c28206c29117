import type { Executor } from '../client.ts';
import type { School } from '../schema.ts';

export interface SchoolInput {
  id: string;
  name: string;
  kind: School['kind'];
  districtId: string;
  timezone: string;
  attendanceSync: boolean;
}

export async function upsertSchool(db: Executor, s: SchoolInput, now: Date): Promise<School> {
  return db
    .insertInto('schools')
    .values({
      id: s.id,
      name: s.name,
      kind: s.kind,
      district_id: s.districtId,
      timezone: s.timezone,
      attendance_sync: s.attendanceSync,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        name: eb.ref('excluded.name'),
        kind: eb.ref('excluded.kind'),
        district_id: eb.ref('excluded.district_id'),
        timezone: eb.ref('excluded.timezone'),
        attendance_sync: eb.ref('excluded.attendance_sync'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export const getSchool = (db: Executor, id: string) =>
  db.selectFrom('schools').selectAll().where('id', '=', id).executeTakeFirst();

export const schoolView = (s: School) => ({
  schoolId: s.id,
  name: s.name,
  kind: s.kind,
  districtId: s.district_id,
  timezone: s.timezone,
  attendanceSync: s.attendance_sync,
});

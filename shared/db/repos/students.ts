import type { Executor } from '../client.ts';
import type { Student } from '../schema.ts';

export interface StudentInput {
  id: string;
  homeSchoolId: string;
  firstName: string;
  lastName: string;
  gradeLevel: number;
}

export const getStudent = (db: Executor, id: string) =>
  db.selectFrom('students').selectAll().where('id', '=', id).executeTakeFirst();

export async function upsertStudent(db: Executor, s: StudentInput, now: Date): Promise<Student> {
  return db
    .insertInto('students')
    .values({
      id: s.id,
      home_school_id: s.homeSchoolId,
      first_name: s.firstName,
      last_name: s.lastName,
      grade_level: s.gradeLevel,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        home_school_id: eb.ref('excluded.home_school_id'),
        first_name: eb.ref('excluded.first_name'),
        last_name: eb.ref('excluded.last_name'),
        grade_level: eb.ref('excluded.grade_level'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export const studentView = (s: Student) => ({
  studentId: s.id,
  homeSchoolId: s.home_school_id,
  firstName: s.first_name,
  lastName: s.last_name,
  gradeLevel: s.grade_level,
});

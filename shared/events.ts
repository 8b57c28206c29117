import { z } from 'zod';
import {
  EventId,
  HsPeriods,
  Instant,
  KtsCourseNumber,
  LocalDate,
  Period,
  SchoolId,
  SchoolYear,
  StudentId,
  Text,
} from './schemas.ts';

/**
 * The events SIS hooks send (api.md, "Events"). One schema per type; `type` selects it. These
 * schemas are the only door: the HTTP route and the in-process producer both parse with them, and
 * the workers parse the stored body again because a job can outlive the deploy that queued it.
 */

export const MAX_RECORDS = 500;

const common = {
  eventId: EventId,
  occurredAt: Instant,
  /** Only state_admin names the school it acts for; a school's own credential may repeat its id. */
  schoolId: SchoolId.optional(),
};

/** A natural key may appear only once in one event. */
function uniqueBy<T>(key: (r: T) => string, what: string) {
  return (records: T[], ctx: z.RefinementCtx) => {
    const seen = new Map<string, number>();
    records.forEach((r, i) => {
      const k = key(r);
      const first = seen.get(k);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `repeats ${what} of record ${first}; send each once per event`,
        });
      } else seen.set(k, i);
    });
  };
}

export const EnrollmentChanged = z
  .strictObject({
    type: z.literal('enrollment-changed'),
    ...common,
    schoolYear: SchoolYear,
    studentId: StudentId,
    ktsCourseNumber: KtsCourseNumber,
    action: z.enum(['add', 'drop']),
    effectiveDate: LocalDate,
    hsPeriods: HsPeriods,
  })
  .refine((e) => e.action === 'drop' || e.hsPeriods.length > 0, {
    message: 'an add must list the high-school periods the student spends at the center',
    path: ['hsPeriods'],
  });

const AttendanceStatus = z.enum(['present', 'absent', 'tardy', 'early_release']);
const Excuse = z.enum(['unknown', 'excused', 'unexcused', 'exempt']);
const LocalCode = z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'must be 1-16 letters, digits, _ or -');

export const AttendanceRecord = z
  .strictObject({
    studentId: StudentId,
    status: AttendanceStatus,
    excuse: Excuse.optional(),
    code: LocalCode.optional(),
    minutesAbsent: z.number().int('must be a whole number').min(0).max(1440).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.status === 'present' && r.excuse !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['excuse'],
        message: 'must be left out when status is present',
      });
    }
    if (r.status !== 'present' && r.excuse === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['excuse'],
        message: `is required when status is ${r.status} (use unknown until the office codes it)`,
      });
    }
  });

export const AttendanceEntered = z.strictObject({
  type: z.literal('attendance-entered'),
  ...common,
  ktsCourseNumber: KtsCourseNumber,
  date: LocalDate,
  records: z
    .array(AttendanceRecord)
    .min(1, 'must hold at least one record')
    .max(MAX_RECORDS, `must hold at most ${MAX_RECORDS} records; split the event`)
    .superRefine(uniqueBy((r) => r.studentId, 'the studentId')),
});

export const GradeRecord = z
  .strictObject({
    studentId: StudentId,
    letterGrade: z
      .string()
      .regex(/^[A-Za-z][A-Za-z+-]{0,3}$/, 'must be a letter grade like A, B+, F or P')
      .optional(),
    numericGrade: z.number().min(0, 'must be 0 to 100').max(100, 'must be 0 to 100').optional(),
    creditsEarned: z.number().min(0).max(10).optional(),
  })
  .refine((r) => r.letterGrade !== undefined || r.numericGrade !== undefined, {
    message: 'give letterGrade, numericGrade or both',
    path: ['letterGrade'],
  });

export const HsCourse = z.strictObject({
  courseId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,40}$/, 'must be 1-40 letters, digits, dots, underscores or hyphens'),
  courseCode: z
    .string()
    .regex(/^\d{6}$/, 'must be the 6-digit Kentucky uniform academic course code'),
  title: Text(200),
  credits: z.number().min(0).max(10),
});

export const GradeFinalized = z
  .strictObject({
    type: z.literal('grade-finalized'),
    ...common,
    schoolYear: SchoolYear,
    term: z.enum(['Q1', 'Q2', 'Q3', 'Q4', 'S1', 'S2', 'FY']),
    gradeType: z.enum(['grading_period', 'semester', 'final']),
    ktsCourseNumber: KtsCourseNumber.optional(),
    course: HsCourse.optional(),
    records: z
      .array(GradeRecord)
      .min(1, 'must hold at least one record')
      .max(MAX_RECORDS, `must hold at most ${MAX_RECORDS} records; split the event`)
      .superRefine(uniqueBy((r) => r.studentId, 'the studentId')),
  })
  .refine((e) => (e.ktsCourseNumber === undefined) !== (e.course === undefined), {
    message:
      'give ktsCourseNumber (a tech-center section) or course (a high-school course), not both',
    path: ['ktsCourseNumber'],
  });

export const AttendanceCoded = z.strictObject({
  type: z.literal('attendance-coded'),
  ...common,
  studentId: StudentId,
  date: LocalDate,
  period: Period,
  excuse: z.enum(['excused', 'unexcused', 'exempt']),
  code: LocalCode,
});

export const EventBody = z.discriminatedUnion(
  'type',
  [EnrollmentChanged, AttendanceEntered, GradeFinalized, AttendanceCoded],
  {
    error: (iss) =>
      iss.code === 'invalid_union'
        ? 'must be one of enrollment-changed, attendance-entered, grade-finalized, attendance-coded'
        : undefined,
  },
);

export type EventBody = z.infer<typeof EventBody>;
export type EventType = EventBody['type'];
export type EnrollmentChanged = z.infer<typeof EnrollmentChanged>;
export type AttendanceEntered = z.infer<typeof AttendanceEntered>;
export type GradeFinalized = z.infer<typeof GradeFinalized>;
export type AttendanceCoded = z.infer<typeof AttendanceCoded>;
export type EventInput = z.input<typeof EventBody>;

export const EVENT_TYPES = [
  'enrollment-changed',
  'attendance-entered',
  'grade-finalized',
  'attendance-coded',
] as const;

/** How many records an event carries (single-record events count one). */
export const recordCount = (e: EventBody) => ('records' in e ? e.records.length : 1);

/**
 * The stored, comparable form of an event: parsed (so instants are normalised) and with the acting
 * school removed (it is part of the identity, not the body). Keys sorted, so "same body" ignores key order.
 */
export function canonicalBody(e: EventBody): string {
  const { schoolId: _s, ...rest } = e;
  return stableStringify(rest);
}

export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

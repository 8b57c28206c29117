import { z } from 'zod';
import { isRealDate, isValidTimeZone } from './domain/dates.ts';

/**
 * Field rules of api.md ("Conventions"), each with a message a school's IT person can act on.
 * The same schemas validate requests, validate job payloads again in the workers, and generate
 * the OpenAPI document.
 */

export const SchoolId = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,32}$/, 'must be 1-32 letters, digits or hyphens');
export const StudentId = z
  .string()
  .regex(/^[0-9]{10}$/, 'must be the 10-digit Kentucky state student id (SSID)');
export const EventId = z
  .string()
  .regex(
    /^[A-Za-z0-9._-]{1,100}$/,
    'must be 1-100 letters, digits, dots, underscores or hyphens (no ":")',
  );
export const KtsCourseNumber = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,40}$/, 'must be 1-40 letters, digits or hyphens');
export const SchoolYear = z
  .string()
  .regex(/^\d{4}-\d{4}$/, 'must look like 2026-2027')
  .refine((s) => Number(s.slice(5)) === Number(s.slice(0, 4)) + 1, {
    message: 'must be two consecutive years, like 2026-2027',
  });
export const LocalDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date written YYYY-MM-DD')
  .refine(isRealDate, { message: 'is not a real calendar date' });
/** An instant with an explicit offset; normalised to UTC with milliseconds so equal instants compare equal. */
export const Instant = z
  .string()
  .max(40, 'must be an ISO-8601 instant with an offset, like 2027-01-19T09:10:00-05:00')
  .pipe(
    z.iso.datetime({
      offset: true,
      message: 'must be an ISO-8601 instant with an offset, like 2027-01-19T09:10:00-05:00',
    }),
  )
  .transform((s) => new Date(s).toISOString())
  // Postgres keeps years 4713 BC to 294276 AD, but a school's instant is of this century or so;
  // a year outside 1900-2199 is a typo, and would not round-trip through toISOString either.
  .refine((iso) => iso >= '1900' && iso < '2200', {
    message: 'must be an instant between the years 1900 and 2199',
  });
export const TimeZone = z
  .string()
  .max(64)
  .refine(isValidTimeZone, { message: 'must be an IANA time zone name, like America/New_York' });
/** Free text from people: bounded, no control characters. */
export const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), {
      message: 'must not contain control characters',
    })
    // A lone surrogate, or U+FFFD (what invalid UTF-8 becomes when parsed), means the sender's
    // encoding is broken: refuse it rather than store a name with a replacement character in it.
    .refine((s) => s.isWellFormed() && !s.includes('\uFFFD'), {
      message: 'must be valid UTF-8 text',
    });
export const Period = z
  .number()
  .int('must be a whole number')
  .min(0, 'must be 0 or more')
  .max(20, 'must be at most 20');
export const HsPeriods = z
  .array(Period)
  .max(20)
  .refine((a) => new Set(a).size === a.length, { message: 'must not list a period twice' });
const Clock = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time written HH:MM (24-hour)');
export const Limit = z.coerce
  .number()
  .int()
  .min(1, 'must be at least 1')
  .max(1000, 'must be at most 1000')
  .default(100);
export const Cursor = z.string().max(200).optional();

export const SchoolKind = z.enum(['high_school', 'atc', 'ctc']);
export type SchoolKind = z.infer<typeof SchoolKind>;

export const SchoolBody = z
  .strictObject({
    name: Text(200),
    kind: SchoolKind,
    districtId: SchoolId,
    timezone: TimeZone,
    attendanceSync: z.boolean().optional(),
  })
  .refine((b) => !(b.attendanceSync && b.kind !== 'high_school'), {
    message: 'attendanceSync is for high schools only',
    path: ['attendanceSync'],
  });

export const CalendarBody = z
  .strictObject({
    firstDay: LocalDate,
    lastDay: LocalDate,
    nonInstructionalDays: z.array(LocalDate).max(366).default([]),
    periods: z
      .array(z.strictObject({ period: Period, start: Clock, end: Clock }))
      .max(20)
      .default([]),
  })
  .refine((c) => c.firstDay <= c.lastDay, {
    message: 'must not be before firstDay',
    path: ['lastDay'],
  })
  .refine((c) => new Set(c.periods.map((p) => p.period)).size === c.periods.length, {
    message: 'must not list a period twice',
    path: ['periods'],
  });

export const SectionBody = z.strictObject({
  courseCode: z
    .string()
    .regex(/^\d{6}$/, 'must be the 6-digit Kentucky uniform academic course code'),
  title: Text(200),
  credits: z.number().min(0, 'must be 0 or more').max(10, 'must be at most 10'),
  term: z.enum(['year', 'S1', 'S2']),
});

export const StudentBody = z.strictObject({
  homeSchoolId: SchoolId,
  firstName: Text(100),
  lastName: Text(100),
  gradeLevel: z
    .number()
    .int('must be a whole number')
    .min(9, 'must be 9 to 12')
    .max(12, 'must be 9 to 12'),
});

export const CredentialBody = z
  .strictObject({
    schoolId: SchoolId.optional(),
    role: z.enum(['state_admin', 'ops']).optional(),
    label: Text(100).optional(),
  })
  .refine((b) => (b.schoolId === undefined) !== (b.role === undefined), {
    message: 'give either schoolId (a school credential) or role (state_admin or ops), not both',
    path: ['schoolId'],
  });

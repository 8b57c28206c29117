import { z } from 'zod';

/**
 * What the API answers, as zod schemas: the OpenAPI document is generated from them, and the
 * integration tests parse real responses with them, so the document cannot drift from the code.
 * Every field api.md lists is present, `null` when it has no value.
 */

const Instant = z.string().describe('UTC instant with milliseconds, e.g. 2027-01-19T14:10:00.000Z');
const LocalDate = z.string().describe('YYYY-MM-DD in the school’s local calendar');
const Cursor = z
  .string()
  .nullable()
  .describe('pass as ?cursor= for the next page; null at the end');

export const ErrorResponse = z.strictObject({
  error: z.strictObject({
    code: z.enum([
      'validation_failed',
      'unauthorized',
      'forbidden',
      'not_found',
      'conflict',
      'payload_too_large',
      'unprocessable',
      'rate_limited',
      'unavailable',
    ]),
    message: z.string(),
    details: z.array(z.strictObject({ path: z.string(), message: z.string() })),
  }),
});

export const SchoolResponse = z.strictObject({
  schoolId: z.string(),
  name: z.string(),
  kind: z.enum(['high_school', 'atc', 'ctc']),
  districtId: z.string(),
  timezone: z.string(),
  attendanceSync: z.boolean(),
});

export const CalendarResponse = z.strictObject({
  schoolId: z.string(),
  schoolYear: z.string(),
  firstDay: LocalDate,
  lastDay: LocalDate,
  nonInstructionalDays: z.array(LocalDate),
  periods: z.array(
    z.strictObject({ period: z.number().int(), start: z.string(), end: z.string() }),
  ),
});

export const SectionResponse = z.strictObject({
  schoolYear: z.string(),
  ktsCourseNumber: z.string(),
  techSchoolId: z.string(),
  courseCode: z.string(),
  title: z.string(),
  credits: z.number(),
  term: z.enum(['year', 'S1', 'S2']),
});

export const CatalogResponse = z.strictObject({
  sections: z.array(
    z.strictObject({
      ktsCourseNumber: z.string(),
      techSchoolId: z.string(),
      techSchoolName: z.string(),
      courseCode: z.string(),
      title: z.string(),
      credits: z.number(),
      term: z.enum(['year', 'S1', 'S2']),
    }),
  ),
  nextCursor: Cursor,
});

export const StudentResponse = z.strictObject({
  studentId: z.string(),
  homeSchoolId: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  gradeLevel: z.number().int(),
});

export const CredentialCreated = z.strictObject({
  credentialId: z.string(),
  token: z.string().describe('shown once; only its hash is stored'),
  label: z.string().nullable(),
});

export const CredentialList = z.strictObject({
  credentials: z.array(
    z.strictObject({
      credentialId: z.string(),
      schoolId: z.string().nullable(),
      role: z
        .string()
        .describe("state_admin, ops, or a school credential's school kind (high_school, atc, ctc)"),
      label: z.string().nullable(),
      createdAt: Instant,
      lastUsedAt: Instant.nullable(),
    }),
  ),
  nextCursor: Cursor,
});

export const EventAccepted = z.strictObject({ eventId: z.string(), status: z.literal('pending') });

export const EventStatusResponse = z.strictObject({
  eventId: z.string(),
  schoolId: z.string(),
  type: z.string(),
  status: z.enum(['pending', 'applied', 'partially_applied', 'rejected']),
  receivedAt: Instant,
  appliedAt: Instant.nullable(),
  rejections: z.array(
    z.strictObject({
      recordIndex: z.number().int(),
      studentId: z.string().nullable(),
      code: z.string(),
      message: z.string(),
    }),
  ),
});

export const RejectionList = z.strictObject({
  rejections: z.array(
    z.strictObject({
      eventId: z.string(),
      type: z.string(),
      recordIndex: z.number().int(),
      studentId: z.string().nullable(),
      code: z.string(),
      message: z.string(),
      at: Instant,
    }),
  ),
  nextCursor: Cursor,
});

export const RosterResponse = z.strictObject({
  students: z.array(
    z.strictObject({
      studentId: z.string(),
      firstName: z.string(),
      lastName: z.string(),
      gradeLevel: z.number().int(),
      homeSchoolId: z.string(),
      hsPeriods: z.array(z.number().int()),
      startDate: LocalDate,
      endDate: LocalDate.nullable(),
    }),
  ),
});

export const AttendanceReport = z.strictObject({
  date: LocalDate,
  rows: z.array(
    z.strictObject({
      studentId: z.string(),
      techSchoolId: z.string(),
      ktsCourseNumber: z.string(),
      hsPeriods: z.array(z.number().int()),
      status: z.enum(['present', 'absent', 'tardy', 'early_release']),
      excuse: z.enum(['unknown', 'excused', 'unexcused', 'exempt']).nullable(),
      code: z.string().nullable(),
      minutesAbsent: z.number().int().nullable(),
      occurredAt: Instant,
      appliedAt: Instant,
      recordedBy: z
        .strictObject({
          schoolId: z.string(),
          credentialId: z.string().nullable(),
          eventId: z.string(),
        })
        .describe('who entered it: the center, its credential and the event'),
    }),
  ),
});

export const ReportCardResponse = z.strictObject({
  grades: z.array(
    z.strictObject({
      source: z.enum(['high_school', 'tech_center']),
      schoolId: z.string(),
      schoolName: z.string(),
      courseCode: z.string(),
      title: z.string(),
      schoolYear: z.string(),
      term: z.string(),
      gradeType: z.enum(['grading_period', 'semester', 'final']),
      letterGrade: z.string().nullable(),
      numericGrade: z.number().nullable(),
      postedAt: Instant,
    }),
  ),
});

export const TranscriptResponse = z.strictObject({
  entries: z.array(
    z.strictObject({
      schoolYear: z.string(),
      courseCode: z.string(),
      title: z.string(),
      term: z.string(),
      creditsAttempted: z.number(),
      creditsEarned: z.number(),
      finalGrade: z.string(),
      earnedAt: z.strictObject({
        schoolId: z.string(),
        name: z.string(),
        kind: z.enum(['high_school', 'atc', 'ctc']),
      }),
    }),
  ),
});

export const EligibilityRuleResponse = z.strictObject({
  passingNumericGrade: z.number(),
  failingLetterGrades: z.array(z.string()),
  maxFailingCourses: z.number().int(),
  minPassingCourses: z.number().int(),
});

export const EligibilityResponse = z.strictObject({
  eligible: z.boolean(),
  passingCourses: z.number().int(),
  failingCourses: z.number().int(),
  rule: EligibilityRuleResponse,
  reasons: z.array(z.string()),
  notChecked: z.array(z.string()),
});

export const HistoryResponse = z.strictObject({
  entries: z.array(
    z.strictObject({
      at: Instant,
      actor: z.strictObject({
        schoolId: z.string().nullable(),
        credentialId: z.string().nullable(),
        job: z.string().nullable(),
      }),
      eventId: z.string().nullable(),
      record: z.enum(['attendance', 'grade', 'transcript', 'enrollment', 'unknown', 'student']),
      action: z.string(),
      before: z.unknown(),
      after: z.unknown(),
      disclosedTo: z.string().nullable(),
    }),
  ),
  nextCursor: Cursor,
});

export const WaiverResponse = z.strictObject({
  waiverId: z.string(),
  schoolId: z.string(),
  schoolYear: z.string(),
  reason: z.string(),
  status: z.enum(['pending', 'approved', 'denied']),
  requestedAt: Instant,
  decidedAt: Instant.nullable(),
});

export const WaiverList = z.strictObject({ waivers: z.array(WaiverResponse), nextCursor: Cursor });

export const SyncRunAccepted = z.strictObject({ runId: z.string() });

export const SyncRunResponse = z.strictObject({
  runId: z.string(),
  kind: z.enum(['scheduled', 'manual']),
  status: z.enum(['running', 'completed', 'completed_with_errors', 'failed', 'held']),
  date: LocalDate.nullable(),
  createdAt: Instant,
  schools: z.array(
    z.strictObject({
      highSchoolId: z.string(),
      date: LocalDate,
      status: z.enum([
        'pending',
        'running',
        'completed',
        'completed_with_errors',
        'failed',
        'held',
        'skipped',
      ]),
      candidates: z.number().int(),
      created: z.number().int(),
      alreadyPresent: z.number().int(),
      errors: z.number().int(),
      detail: z.string().nullable(),
    }),
  ),
});

export const SyncRunList = z.strictObject({ runs: z.array(SyncRunResponse), nextCursor: Cursor });

export const UnknownsResponse = z.strictObject({
  rows: z.array(
    z.strictObject({
      studentId: z.string(),
      date: LocalDate,
      period: z.number().int(),
      status: z.string().nullable(),
      techSchoolId: z.string().nullable(),
      ktsCourseNumber: z.string().nullable(),
      syncedAt: Instant.nullable(),
      resolved: z.boolean(),
      excuse: z.enum(['unknown', 'excused', 'unexcused', 'exempt']),
      code: z.string().nullable(),
      techExcuse: z.enum(['excused', 'unexcused', 'exempt']).nullable(),
    }),
  ),
  nextCursor: Cursor,
});

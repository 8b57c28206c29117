/** Per-record rejection codes, in the order api.md checks them: a record gets the first it breaks. */
export const REJECTION_ORDER = [
  'unknown_section',
  'unknown_student',
  'waived',
  'not_on_roster',
  'outside_enrollment',
  'not_instructional_day',
  'future_date',
] as const;
export type RejectionCode = (typeof REJECTION_ORDER)[number];

export interface Rejection {
  recordIndex: number;
  studentId: string | null;
  code: RejectionCode;
  message: string;
}

export interface Span {
  startDate: string;
  endDate: string | null;
}

export const spanCovers = (s: Span, date: string) =>
  s.startDate <= date && (s.endDate === null || date <= s.endDate);

const describeSpans = (spans: readonly Span[]) =>
  spans
    .map((s) => (s.endDate ? `${s.startDate} to ${s.endDate}` : `from ${s.startDate}`))
    .join(', ');

/** Sentences a school's IT person can act on. They name only what the producer already knows. */
export const rejectionMessage = {
  unknownSection: (kts: string, year: string) =>
    `ktsCourseNumber ${kts} is not a section of this center in the ${year} KTS course catalog; publish the section or check the number.`,
  unknownCatalogSection: (kts: string, year: string) =>
    `ktsCourseNumber ${kts} is not in the ${year} KTS course catalog; use the number exactly as the center published it (GET /v1/catalog/${year}).`,
  unknownStudent: (studentId: string) =>
    `Student ${studentId} is not one of this high school's students; register the student with PUT /v1/students/${studentId} first.`,
  waived: (techSchoolId: string, year: string) =>
    `Center ${techSchoolId} has an approved KTS data-exchange waiver for ${year}; its sections are outside the exchange that year.`,
  notOnRoster: (studentId: string, kts: string, year: string) =>
    `Student ${studentId} is not on the roster of section ${kts} for ${year}; the home high school schedules students into the section.`,
  outsideEnrollment: (studentId: string, kts: string, date: string, spans: readonly Span[]) =>
    `Student ${studentId} is on the roster of section ${kts} ${describeSpans(spans)}; ${date} is outside that enrollment.`,
  notInstructionalDay: (date: string, year: string, whose = "this center's") =>
    `${date} is not an instructional day in ${whose} ${year} calendar (a weekend, a listed day off, or outside firstDay-lastDay).`,
  futureDate: (date: string, today: string, whose = "this center's") =>
    `${date} is after today (${today}) in ${whose} time zone; attendance can be entered only for days that have begun.`,
};

import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/**
 * Table types, kept by hand beside the migrations (dates are `YYYY-MM-DD` strings: see the type
 * parsers in client.ts). A change here goes with a new migration.
 */

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface SchoolsTable {
  id: string;
  name: string;
  kind: 'high_school' | 'atc' | 'ctc';
  district_id: string;
  timezone: string;
  attendance_sync: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PeriodTime {
  period: number;
  start: string;
  end: string;
}

export interface CalendarsTable {
  school_id: string;
  school_year: string;
  first_day: string;
  last_day: string;
  non_instructional_days: Json<string[]>;
  periods: Json<PeriodTime[]>;
  updated_at: Timestamp;
}

export interface SectionsTable {
  school_year: string;
  kts_course_number: string;
  tech_school_id: string;
  course_code: string;
  title: string;
  credits: ColumnType<number, number, number>;
  term: 'year' | 'S1' | 'S2';
  updated_at: Timestamp;
}

export interface StudentsTable {
  id: string;
  home_school_id: string;
  first_name: string;
  last_name: string;
  grade_level: number;
  updated_at: Timestamp;
}

export interface CredentialsTable {
  id: Generated<string>;
  token_hash: string;
  role: 'school' | 'state_admin' | 'ops';
  school_id: string | null;
  label: string | null;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export type EventStatus = 'pending' | 'applied' | 'partially_applied' | 'rejected';

export interface EventsTable {
  seq: Generated<number>;
  school_id: string;
  event_id: string;
  type: string;
  body: Json<unknown>;
  body_hash: string;
  occurred_at: Timestamp;
  record_count: number;
  credential_id: string | null;
  received_at: Timestamp;
  status: Generated<EventStatus>;
  applied_at: Timestamp | null;
  attempts: Generated<number>;
}

export interface EventRejectionsTable {
  event_seq: number;
  record_index: number;
  school_id: string;
  student_id: string | null;
  code: string;
  message: string;
  at: Timestamp;
}

export interface EnrollmentActionsTable {
  school_year: string;
  kts_course_number: string;
  student_id: string;
  effective_date: string;
  action: 'add' | 'drop';
  hs_periods: number[];
  home_school_id: string;
  occurred_at: Timestamp;
  event_id: string;
  event_seq: number;
}

export interface RosterSpansTable {
  school_year: string;
  kts_course_number: string;
  student_id: string;
  start_date: string;
  end_date: string | null;
  hs_periods: number[];
  tech_school_id: string;
  home_school_id: string;
}

export interface AttendanceTable {
  student_id: string;
  kts_course_number: string;
  date: string;
  school_year: string;
  tech_school_id: string;
  status: 'present' | 'absent' | 'tardy' | 'early_release';
  excuse: 'unknown' | 'excused' | 'unexcused' | 'exempt' | null;
  code: string | null;
  minutes_absent: number | null;
  occurred_at: Timestamp;
  event_id: string;
  event_seq: number;
  credential_id: string | null;
  applied_at: Timestamp;
}

export interface HistoryTable {
  id: Generated<number>;
  student_id: string;
  at: Timestamp;
  actor_school_id: string | null;
  actor_credential_id: string | null;
  actor_job: string | null;
  event_id: string | null;
  record: 'attendance' | 'grade' | 'transcript' | 'enrollment' | 'unknown' | 'student';
  action: string;
  before: Json<unknown> | null;
  after: Json<unknown> | null;
  disclosed_to: string | null;
}

export interface WaiversTable {
  id: Generated<string>;
  school_id: string;
  school_year: string;
  reason: string;
  status: 'pending' | 'approved' | 'denied';
  requested_at: Timestamp;
  decided_at: Timestamp | null;
}

export interface GradesTable {
  student_id: string;
  school_id: string;
  source: 'high_school' | 'tech_center';
  course_key: string;
  school_year: string;
  term: string;
  grade_type: 'grading_period' | 'semester' | 'final';
  course_code: string;
  title: string;
  credits: number;
  course_term: string | null;
  letter_grade: string | null;
  numeric_grade: number | null;
  credits_earned: number | null;
  occurred_at: Timestamp;
  event_id: string;
  event_seq: number;
  posted_at: Timestamp;
}

export interface HsAttendanceTable {
  student_id: string;
  date: string;
  period: number;
  home_school_id: string;
  status: string | null;
  excuse: 'unknown' | 'excused' | 'unexcused' | 'exempt';
  code: string | null;
  source: 'sync' | 'high_school';
  tech_school_id: string | null;
  kts_course_number: string | null;
  synced_at: Timestamp | null;
  sync_run_id: string | null;
  coded_at: Timestamp | null;
  coded_occurred_at: Timestamp | null;
  coded_event_id: string | null;
  coded_event_seq: number | null;
}

export interface EligibilityRulesTable {
  school_id: string;
  passing_numeric_grade: number;
  failing_letter_grades: Json<string[]>;
  max_failing_courses: number;
  min_passing_courses: number;
  updated_at: Timestamp;
}

export type SyncSchoolStatus =
  'pending' | 'running' | 'completed' | 'completed_with_errors' | 'failed' | 'held' | 'skipped';

export interface SyncRunsTable {
  id: Generated<string>;
  kind: 'scheduled' | 'manual';
  schedule_key: string | null;
  requested_date: string | null;
  requested_school_id: string | null;
  requested_by: string | null;
  created_at: Timestamp;
}

export interface SyncRunSchoolsTable {
  run_id: string;
  high_school_id: string;
  date: string;
  status: SyncSchoolStatus;
  candidates: Generated<number>;
  created: Generated<number>;
  already_present: Generated<number>;
  errors: Generated<number>;
  detail: string | null;
  released: Generated<boolean>;
  finished_at: Timestamp | null;
}

export interface SyncNightsTable {
  high_school_id: string;
  date: string;
  run_id: string;
}

export interface DB {
  schools: SchoolsTable;
  calendars: CalendarsTable;
  sections: SectionsTable;
  students: StudentsTable;
  credentials: CredentialsTable;
  events: EventsTable;
  event_rejections: EventRejectionsTable;
  enrollment_actions: EnrollmentActionsTable;
  roster_spans: RosterSpansTable;
  attendance: AttendanceTable;
  history: HistoryTable;
  waivers: WaiversTable;
  grades: GradesTable;
  hs_attendance: HsAttendanceTable;
  eligibility_rules: EligibilityRulesTable;
  sync_runs: SyncRunsTable;
  sync_run_schools: SyncRunSchoolsTable;
  sync_nights: SyncNightsTable;
}

export type School = Selectable<SchoolsTable>;
export type Student = Selectable<StudentsTable>;
export type Section = Selectable<SectionsTable>;
export type Calendar = Selectable<CalendarsTable>;
export type EventRow = Selectable<EventsTable>;
export type NewHistory = Insertable<HistoryTable>;

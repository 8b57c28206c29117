import { z } from 'zod';
import { EventBody } from '../../shared/events.ts';
import {
  CalendarBody,
  CredentialBody,
  SchoolBody,
  SectionBody,
  StudentBody,
} from '../../shared/schemas.ts';
import * as R from './responses.ts';
import {
  RunListQuery,
  RunParams,
  SyncRunBody,
  UnknownsParams,
  UnknownsQuery,
} from './routes/sync.ts';
import { IdParams, ListQuery } from './routes/credentials.ts';
import { EventParams, EventQuery, RejectionsQuery, SchoolPathParams } from './routes/events.ts';
import { ReportParams, ReportQuery, RosterParams, RosterQuery } from './routes/reads.ts';
import {
  CalendarParams,
  CatalogParams,
  CatalogQuery,
  SchoolParams,
  SectionParams,
  StudentParams,
} from './routes/setup.ts';
import {
  EligibilityQuery,
  HistoryQuery,
  NoQuery,
  ReportCardQuery,
  RuleBody,
  RuleParams,
} from './routes/students.ts';
import {
  DecisionBody,
  RequestBody as WaiverRequestBody,
  WaiverListQuery,
  WaiverParams,
} from './routes/waivers.ts';

type Schema = z.ZodType;

export interface RouteDoc {
  method: 'get' | 'put' | 'post' | 'delete';
  path: string;
  summary: string;
  who: string;
  params?: Schema;
  query?: Schema;
  body?: Schema;
  ok: { status: number; schema?: Schema; description?: string };
  also?: number[];
}

/**
 * Every /v1 route with the very schemas its handler parses with (exported from the route files).
 * A test checks that each route the server registers is listed here and nothing else is.
 */
export const ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/credentials',
    summary: 'Create a credential (token shown once)',
    who: 'state_admin',
    body: CredentialBody,
    ok: { status: 201, schema: R.CredentialCreated },
    also: [422],
  },
  {
    method: 'get',
    path: '/v1/credentials',
    summary: 'List credentials (never tokens)',
    who: 'state_admin',
    query: ListQuery,
    ok: { status: 200, schema: R.CredentialList },
  },
  {
    method: 'delete',
    path: '/v1/credentials/:credentialId',
    summary: 'Revoke a credential (401 from then on)',
    who: 'state_admin',
    params: IdParams,
    ok: { status: 204, description: 'revoked' },
    also: [404],
  },
  {
    method: 'put',
    path: '/v1/schools/:schoolId',
    summary: 'Register or update a school',
    who: 'state_admin',
    params: SchoolParams,
    body: SchoolBody,
    ok: { status: 200, schema: R.SchoolResponse },
  },
  {
    method: 'put',
    path: '/v1/schools/:schoolId/calendars/:schoolYear',
    summary: "A school's calendar for a year",
    who: 'state_admin or the school',
    params: CalendarParams,
    body: CalendarBody,
    ok: { status: 200, schema: R.CalendarResponse },
    also: [404],
  },
  {
    method: 'put',
    path: '/v1/tech-centers/:schoolId/sections/:schoolYear/:ktsCourseNumber',
    summary: 'Publish a section in the year’s KTS catalog',
    who: 'state_admin or that tech center',
    params: SectionParams,
    body: SectionBody,
    ok: { status: 200, schema: R.SectionResponse },
    also: [404, 409],
  },
  {
    method: 'get',
    path: '/v1/catalog/:schoolYear',
    summary: 'The year’s KTS course catalog',
    who: 'any school, state_admin',
    params: CatalogParams,
    query: CatalogQuery,
    ok: { status: 200, schema: R.CatalogResponse },
  },
  {
    method: 'put',
    path: '/v1/students/:studentId',
    summary: 'Register or update a student (the state office moves students)',
    who: 'state_admin or the home high school',
    params: StudentParams,
    body: StudentBody,
    ok: { status: 200, schema: R.StudentResponse },
    also: [409, 422],
  },
  {
    method: 'get',
    path: '/v1/students/:studentId',
    summary: 'A student (own students only)',
    who: 'state_admin or the home high school',
    params: StudentParams,
    ok: { status: 200, schema: R.StudentResponse },
    also: [404],
  },
  {
    method: 'put',
    path: '/v1/schools/:schoolId/eligibility-rule',
    summary: 'Set the school’s athletic-eligibility rule',
    who: 'state_admin or that high school',
    params: RuleParams,
    body: RuleBody,
    ok: { status: 200, schema: R.EligibilityRuleResponse },
    also: [404],
  },
  {
    method: 'get',
    path: '/v1/schools/:schoolId/eligibility-rule',
    summary: 'The school’s eligibility rule (the default when never set)',
    who: 'state_admin or that school',
    params: RuleParams,
    ok: { status: 200, schema: R.EligibilityRuleResponse },
    also: [404],
  },
  {
    method: 'post',
    path: '/v1/events',
    summary: 'Send one event (type selects the schema)',
    who: 'schools by kind; state_admin with schoolId',
    body: EventBody,
    ok: { status: 202, schema: R.EventAccepted },
    also: [200, 409, 413, 422, 503],
  },
  {
    method: 'get',
    path: '/v1/events/:eventId',
    summary: 'An event’s status and per-record rejections',
    who: 'the submitting school; state_admin with ?schoolId=',
    params: EventParams,
    query: EventQuery,
    ok: { status: 200, schema: R.EventStatusResponse },
    also: [404],
  },
  {
    method: 'get',
    path: '/v1/schools/:schoolId/rejections',
    summary: 'The school’s rejected records, newest first',
    who: 'state_admin or that school',
    params: SchoolPathParams,
    query: RejectionsQuery,
    ok: { status: 200, schema: R.RejectionList },
  },
  {
    method: 'get',
    path: '/v1/tech-centers/:schoolId/rosters/:schoolYear/:ktsCourseNumber',
    summary: 'A section’s roster with names',
    who: 'state_admin or that tech center',
    params: RosterParams,
    query: RosterQuery,
    ok: { status: 200, schema: R.RosterResponse },
    also: [404],
  },
  {
    method: 'get',
    path: '/v1/high-schools/:schoolId/attendance',
    summary: 'The real-time report of tech-center attendance',
    who: 'state_admin or that high school',
    params: ReportParams,
    query: ReportQuery,
    ok: { status: 200, schema: R.AttendanceReport },
  },
  {
    method: 'get',
    path: '/v1/students/:studentId/report-card',
    summary: 'High-school and tech grades together',
    who: 'state_admin or the home high school',
    params: StudentParams,
    query: ReportCardQuery,
    ok: { status: 200, schema: R.ReportCardResponse },
    also: [404],
  },
  {
    method: 'get',
    path: '/v1/students/:studentId/transcript',
    summary: 'Transcript with where each credit was earned',
    who: 'state_admin or the home high school',
    params: StudentParams,
    query: NoQuery,
    ok: { status: 200, schema: R.TranscriptResponse },
    also: [404],
  },
  {
    method: 'get',
    path: '/v1/students/:studentId/eligibility',
    summary: 'Athletic eligibility over both schools’ grades',
    who: 'state_admin or the home high school',
    params: StudentParams,
    query: EligibilityQuery,
    ok: { status: 200, schema: R.EligibilityResponse },
    also: [404],
  },
  {
    method: 'get',
    path: '/v1/students/:studentId/history',
    summary: 'Every change and disclosure of the student’s exchanged records',
    who: 'state_admin or the home high school',
    params: StudentParams,
    query: HistoryQuery,
    ok: { status: 200, schema: R.HistoryResponse },
    also: [404],
  },
  {
    method: 'post',
    path: '/v1/waivers',
    summary: 'A CTC asks for next year’s waiver (Jan 1 - Mar 1)',
    who: 'a CTC; state_admin with schoolId',
    body: WaiverRequestBody,
    ok: { status: 201, schema: R.WaiverResponse },
    also: [422],
  },
  {
    method: 'post',
    path: '/v1/waivers/:waiverId/decision',
    summary: 'Approve or deny (final)',
    who: 'state_admin',
    params: WaiverParams,
    body: DecisionBody,
    ok: { status: 200, schema: R.WaiverResponse },
    also: [404, 409],
  },
  {
    method: 'get',
    path: '/v1/waivers',
    summary: 'Waivers (a CTC sees its own)',
    who: 'state_admin, a CTC',
    query: WaiverListQuery,
    ok: { status: 200, schema: R.WaiverList },
  },
  {
    method: 'get',
    path: '/v1/high-schools/:schoolId/unknowns',
    summary: 'The worklist of synced unknowns, oldest first',
    who: 'state_admin or that high school',
    params: UnknownsParams,
    query: UnknownsQuery,
    ok: { status: 200, schema: R.UnknownsResponse },
  },
  {
    method: 'post',
    path: '/v1/admin/sync-runs',
    summary: 'Run the unknown-attendance sync now (or backfill a day)',
    who: 'state_admin',
    body: SyncRunBody,
    ok: { status: 202, schema: R.SyncRunAccepted },
    also: [422],
  },
  {
    method: 'get',
    path: '/v1/admin/sync-runs/:runId',
    summary: 'A sync run report, per school',
    who: 'state_admin',
    params: RunParams,
    ok: { status: 200, schema: R.SyncRunResponse },
    also: [404],
  },
  {
    method: 'get',
    path: '/v1/admin/sync-runs',
    summary: 'Sync runs, newest first',
    who: 'state_admin',
    query: RunListQuery,
    ok: { status: 200, schema: R.SyncRunList },
  },
  {
    method: 'post',
    path: '/v1/admin/sync-runs/:runId/release',
    summary: 'Apply what a safety hold stopped',
    who: 'state_admin',
    params: RunParams,
    ok: { status: 202, schema: R.SyncRunResponse },
    also: [404, 409],
  },
];

const jsonSchema = (s: Schema, io: 'input' | 'output') =>
  z.toJSONSchema(s, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;

const errorText: Record<number, string> = {
  200: 'the same event was already received (same body): its current status',
  400: 'validation_failed: schema, malformed JSON, wrong content type',
  401: 'unauthorized: no, unknown or revoked token',
  403: 'forbidden: this credential may never do this',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large: a body over 1 MiB',
  422: 'unprocessable: a rule about the request, explained in the message',
  503: 'unavailable: cannot store durably now (Retry-After)',
};

/** Groups on the /docs page, in the order a vendor builds against them. */
const TAGS: [RegExp, string][] = [
  [/^\/v1\/credentials/, 'Credentials'],
  [/^\/v1\/events|\/rejections$/, 'Events'],
  [/^\/v1\/admin\/sync-runs|\/unknowns$/, 'Nightly sync'],
  [/^\/v1\/waivers/, 'Waivers'],
  [/^\/v1\/students\/:studentId\/|eligibility-rule$/, 'Grades, eligibility and history'],
  [/\/rosters\/|\/attendance$/, 'Rosters and attendance'],
  [/.*/, 'Set-up'],
];
const tagOf = (path: string) => TAGS.find(([re]) => re.test(path))![1];

function parameters(r: RouteDoc) {
  const out: object[] = [];
  for (const [where, schema] of [
    ['path', r.params],
    ['query', r.query],
  ] as const) {
    if (!schema) continue;
    const js = jsonSchema(schema, 'input') as {
      properties?: Record<string, object>;
      required?: string[];
    };
    for (const [name, prop] of Object.entries(js.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (js.required ?? []).includes(name),
        schema: prop,
      });
    }
  }
  return out;
}

/** The OpenAPI 3.0 document, generated from the zod schemas that validate requests. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = {
    description: '',
    content: { 'application/json': { schema: jsonSchema(R.ErrorResponse, 'output') } },
  };
  for (const r of ROUTES) {
    const path = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const responses: Record<string, unknown> = {
      [r.ok.status]: r.ok.schema
        ? {
            description: r.ok.description ?? 'OK',
            content: { 'application/json': { schema: jsonSchema(r.ok.schema, 'output') } },
          }
        : { description: r.ok.description ?? 'OK' },
    };
    for (const status of [400, 401, 403, ...(r.also ?? [])]) {
      if (status === 200 && r.method === 'post') {
        responses['200'] = {
          description: errorText[200],
          content: { 'application/json': { schema: jsonSchema(R.EventStatusResponse, 'output') } },
        };
      } else responses[status] = { ...error, description: errorText[status] ?? 'error' };
    }
    (paths[path] ??= {})[r.method] = {
      tags: [tagOf(r.path)],
      summary: r.summary,
      description: `Who: ${r.who}.`,
      security: [{ bearer: [] }],
      parameters: parameters(r),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(r.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'KSIS–KTS data exchange',
      version: '1',
      description:
        'Enrollment, attendance, grades and waivers between Kentucky tech centers and home high schools. ' +
        'Send `Authorization: Bearer <token>`. Errors: `{"error": {"code", "message", "details": [{"path", "message"}]}}`.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}

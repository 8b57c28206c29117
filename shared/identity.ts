import type { SchoolKind } from './schemas.ts';

/** Who is calling: resolved from the bearer token once per request and passed down explicitly. */
export type Actor =
  | { kind: 'state_admin'; credentialId: string | null }
  | { kind: 'ops'; credentialId: string }
  | { kind: 'school'; credentialId: string; schoolId: string; schoolKind: SchoolKind };

export const isTechCenter = (k: SchoolKind | null | undefined) => k === 'atc' || k === 'ctc';

/** How a change is attributed in the history: a person's credential or a named job. */
export interface ChangeActor {
  schoolId: string | null;
  credentialId: string | null;
  job: string | null;
}

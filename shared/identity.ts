import { ApiError, forbidden } from './errors.ts';
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

/**
 * The school a request acts for, the one rule every "on behalf of" route shares: the state office
 * names it (a 400 on `schoolId` without), a school credential is its own school (naming another is
 * a 403), and ops acts for none (403).
 */
export function actingSchoolId(
  actor: Actor,
  named: string | undefined,
  say: { where: 'event' | 'request body' | 'query'; stateOffice: string; verb: string },
): string {
  if (actor.kind === 'state_admin') {
    if (named) return named;
    throw new ApiError(
      'validation_failed',
      `The ${say.where} is not valid: schoolId is required ${say.stateOffice}.`,
      [{ path: 'schoolId', message: `is required ${say.stateOffice}` }],
    );
  }
  if (actor.kind !== 'school') throw forbidden(`${say.verb} (ops is read-only)`);
  if (named !== undefined && named !== actor.schoolId)
    throw forbidden(`${say.verb} for school ${named}`);
  return actor.schoolId;
}

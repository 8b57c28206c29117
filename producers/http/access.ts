import { forbidden } from '../../shared/errors.ts';
import type { Actor } from '../../shared/identity.ts';
import type { SchoolKind } from '../../shared/schemas.ts';

/** 403s for what a credential may never do (api.md, "Roles and scopes"). */
export function requireStateAdmin(actor: Actor, what: string): void {
  if (actor.kind !== 'state_admin') throw forbidden(what);
}

/** The state office, or the school named in the path (optionally only of some kinds). */
export function requireSelfOrAdmin(
  actor: Actor,
  schoolId: string,
  what: string,
  kinds?: readonly SchoolKind[],
): void {
  if (actor.kind === 'state_admin') return;
  if (actor.kind !== 'school' || actor.schoolId !== schoolId) throw forbidden(what);
  if (kinds && !kinds.includes(actor.schoolKind)) throw forbidden(what);
}

/** Any school or the state office; ops never sees school data. */
export function requireSchoolOrAdmin(actor: Actor, what: string): void {
  if (actor.kind === 'ops') throw forbidden(what);
}

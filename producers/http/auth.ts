import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashToken, tokensEqual } from '../../shared/auth.ts';
import { ApiError } from '../../shared/errors.ts';
import type { Actor } from '../../shared/identity.ts';
import { findLiveCredential, touchCredential } from '../../shared/db/repos/credentials.ts';
import type { Db } from '../../shared/db/client.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

export interface AuthDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  adminToken: string;
}

const unauthorized = () =>
  new ApiError(
    'unauthorized',
    'Send a valid token as "Authorization: Bearer <token>"; this one is missing, unknown or revoked.',
  );

function tokenFrom(req: FastifyRequest, allowBasic: boolean): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const [scheme, value] = h.split(' ', 2);
  if (!value) return null;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (allowBasic && scheme?.toLowerCase() === 'basic') {
    // Pages for people accept Basic auth so a browser can open them; the password is the token.
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i >= 0 ? decoded.slice(i + 1) : null;
  }
  return null;
}

export async function resolveActor(deps: AuthDeps, token: string): Promise<Actor | null> {
  if (token.length > 200) return null;
  if (tokensEqual(token, deps.adminToken)) return { kind: 'state_admin', credentialId: null };
  const c = await findLiveCredential(deps.db, hashToken(token));
  if (!c) return null;
  touchCredential(deps.db, c.id, deps.clock.now()).catch((err: unknown) =>
    deps.log.warn({ err, credentialId: c.id }, 'could not record credential use'),
  );
  if (c.role === 'state_admin') return { kind: 'state_admin', credentialId: c.id };
  if (c.role === 'ops') return { kind: 'ops', credentialId: c.id };
  if (!c.school_id || !c.school_kind) return null;
  return { kind: 'school', credentialId: c.id, schoolId: c.school_id, schoolKind: c.school_kind };
}

/** A preHandler that resolves the caller or answers 401; `allowBasic` for pages opened in a browser. */
export function authenticate(deps: AuthDeps, opts: { allowBasic?: boolean } = {}) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const token = tokenFrom(req, opts.allowBasic ?? false);
    const actor = token ? await resolveActor(deps, token) : null;
    if (!actor) {
      if (opts.allowBasic)
        reply.header('www-authenticate', 'Basic realm="KTS exchange", charset="UTF-8"');
      throw unauthorized();
    }
    req.actor = actor;
  };
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw unauthorized();
  return req.actor;
}

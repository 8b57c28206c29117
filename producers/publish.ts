import { createHash } from 'node:crypto';
import { ApiError, forbidden, isTransientDbError } from '../shared/errors.ts';
import { EventBody, canonicalBody, recordCount, type EventType } from '../shared/events.ts';
import { actingSchoolId, isTechCenter, type Actor } from '../shared/identity.ts';
import { getEventByIdentity, insertEvent } from '../shared/db/repos/events.ts';
import { getSchool } from '../shared/db/repos/schools.ts';
import { getSection } from '../shared/db/repos/sections.ts';
import { calendarForDate } from '../shared/db/repos/calendars.ts';
import type { School } from '../shared/db/schema.ts';
import { parseOr400 } from '../shared/validation.ts';
import type { ProducerDeps } from './deps.ts';
import { eventView } from './event-view.ts';

export type PublishResult =
  | { status: 202; body: { eventId: string; status: 'pending' } }
  | { status: 200; body: Awaited<ReturnType<typeof eventView>> };

const who: Record<EventType, string> = {
  'enrollment-changed': 'high schools',
  'attendance-entered': 'tech centers',
  'grade-finalized': 'tech centers and high schools',
  'attendance-coded': 'high schools',
};

function mayProduce(school: School, e: EventBody): boolean {
  switch (e.type) {
    case 'enrollment-changed':
    case 'attendance-coded':
      return school.kind === 'high_school';
    case 'attendance-entered':
      return isTechCenter(school.kind);
    case 'grade-finalized':
      // A center posts grades for its sections, a high school for its own courses.
      return isTechCenter(school.kind) ? e.ktsCourseNumber !== undefined : e.course !== undefined;
  }
}

/** Which school the event is from, and whether this credential may send it at all (403 otherwise). */
async function producerOf(deps: ProducerDeps, actor: Actor, e: EventBody): Promise<School> {
  const schoolId = actingSchoolId(actor, e.schoolId, {
    where: 'event',
    stateOffice: 'when the state office posts an event (the school it acts for)',
    verb: 'post events',
  });
  const school = await getSchool(deps.db, schoolId);
  if (!school)
    throw new ApiError('unprocessable', `School ${schoolId} is not registered with the exchange.`);
  if (!mayProduce(school, e)) {
    throw forbidden(
      `post ${e.type} events as a ${school.kind.replace('_', ' ')} (only ${who[e.type]} send them${e.type === 'grade-finalized' ? ', centers with ktsCourseNumber and high schools with course' : ''})`,
    );
  }
  // A section another center published is never this center's to write (403, not a rejection).
  if (e.type === 'attendance-entered' || (e.type === 'grade-finalized' && e.ktsCourseNumber)) {
    const kts = e.ktsCourseNumber!;
    if (e.type === 'grade-finalized') {
      const s = await getSection(deps.db, e.schoolYear, kts);
      if (s && s.tech_school_id !== school.id)
        throw forbidden(`write to section ${kts}, which belongs to another center`);
    } else {
      // The year is the one whose calendar (of this center) holds the date, as the worker decides.
      const { schoolYear } = await calendarForDate(deps.db, school.id, e.date);
      const s = await getSection(deps.db, schoolYear, kts);
      if (s && s.tech_school_id !== school.id)
        throw forbidden(`write to section ${kts}, which belongs to another center`);
    }
  }
  return school;
}

/**
 * The one way an event enters the exchange, for the HTTP route and the in-process producer alike:
 * validate, authorise, store durably, then enqueue. 202 means the row is committed; if Redis cannot
 * take the job right now the event waits in Postgres and the sweeper enqueues it.
 */
export async function publish(
  deps: ProducerDeps,
  actor: Actor,
  raw: unknown,
): Promise<PublishResult> {
  const e = parseOr400(EventBody, raw, 'event');
  const school = await producerOf(deps, actor, e);
  const canonical = canonicalBody(e);
  const bodyHash = createHash('sha256').update(canonical).digest('hex');
  try {
    const inserted = await insertEvent(deps.db, {
      schoolId: school.id,
      eventId: e.eventId,
      type: e.type,
      body: JSON.parse(canonical),
      bodyHash,
      occurredAt: e.occurredAt,
      recordCount: recordCount(e),
      credentialId: actor.credentialId,
      receivedAt: deps.clock.now(),
    });
    if (!inserted) {
      const existing = await getEventByIdentity(deps.db, school.id, e.eventId);
      if (!existing) throw new Error('event vanished between insert and read');
      if (existing.body_hash !== bodyHash) {
        throw new ApiError(
          'conflict',
          `Event ${e.eventId} was already received from ${school.id} with a different body; send changes under a new eventId.`,
        );
      }
      return { status: 200, body: await eventView(deps.db, existing) };
    }
    await deps.enqueuer.enqueue({
      eventSeq: inserted.seq,
      schoolId: school.id,
      eventId: e.eventId,
      type: e.type,
    });
    return { status: 202, body: { eventId: e.eventId, status: 'pending' } };
  } catch (err) {
    if (isTransientDbError(err)) {
      deps.log.error(
        { err, schoolId: school.id, eventId: e.eventId },
        'cannot store event durably',
      );
      throw new ApiError(
        'unavailable',
        'The exchange cannot store events right now; send the same event again shortly.',
        [],
        5,
      );
    }
    throw err;
  }
}

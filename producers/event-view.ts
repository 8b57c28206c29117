import type { Executor } from '../shared/db/client.ts';
import type { EventRow } from '../shared/db/schema.ts';
import { rejectionsOf } from '../shared/db/repos/events.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The answer of GET /v1/events/:eventId, and of a repeated POST of the same event. */
export async function eventView(db: Executor, e: EventRow) {
  const rejections = e.status === 'pending' ? [] : await rejectionsOf(db, e.seq);
  return {
    eventId: e.event_id,
    schoolId: e.school_id,
    type: e.type,
    status: e.status,
    receivedAt: iso(e.received_at),
    appliedAt: iso(e.applied_at),
    rejections: rejections.map((r) => ({
      recordIndex: r.record_index,
      studentId: r.student_id,
      code: r.code,
      message: r.message,
    })),
  };
}

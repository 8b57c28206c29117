import type { EventRow } from '../shared/db/schema.ts';
import type { ChangeActor } from '../shared/identity.ts';
import type { Logger } from '../shared/logger.ts';

/** What every applier gets for one stored event: the row, its parsed body, the time and who. */
export interface ApplyInput<B> {
  event: EventRow;
  body: B;
  now: Date;
  actor: ChangeActor;
  log: Logger;
}

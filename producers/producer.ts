import type { EventInput } from '../shared/events.ts';
import type { Actor } from '../shared/identity.ts';
import type { ProducerDeps } from './deps.ts';
import { publish, type PublishResult } from './publish.ts';

/**
 * The typed in-process producer for SIS hooks that run beside the exchange: the same `publish`
 * path as POST /v1/events (same schema, same checks, same durable intake), without HTTP.
 */
export interface Producer {
  send(event: EventInput): Promise<PublishResult>;
}

export function createProducer(deps: ProducerDeps, actor: Actor): Producer {
  return { send: (event) => publish(deps, actor, event) };
}

import type { EventStore, StoredEvent } from '../eventstore/port.js';
import { auditData } from './history.js';

/** One event as an external audit system receives it: secrets left out, personal data as the log holds it now. */
export interface ExportedEvent {
  position: string;
  stream: string;
  revision: number;
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: StoredEvent['metadata'];
}

export const exported = (event: StoredEvent): ExportedEvent => ({
  position: event.position.toString(),
  stream: event.stream,
  revision: event.revision,
  id: event.id,
  type: event.type,
  data: auditData(event.data),
  metadata: event.metadata,
});

/** The log after `since` (exclusive), in order, page by page. */
export async function* exportLog(
  store: EventStore,
  since: bigint | null,
): AsyncGenerator<ExportedEvent> {
  let after = since;
  for (;;) {
    const batch = await store.readAll({ after, limit: 1000 });
    if (batch.length === 0) return;
    for (const event of batch) yield exported(event);
    after = batch.at(-1)!.position;
  }
}

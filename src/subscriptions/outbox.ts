/**
 * The transactional outbox: every written version adds its event row in the
 * write's own statement (src/fhir/persist.ts), one SQL function call in the
 * same round trip, so a committed change always has its event and a rolled
 * back one never does — unlike enqueueing after commit, which a crash in
 * between loses.
 */
import { sql } from 'kysely';
import type { WrittenVersion, WriteStatement } from '../fhir/persist.ts';
import type { EventFacts } from './topics.ts';

/** Only the topics' types need a status; parsing every other write's content would cost the outbox its cheapness. */
const statusTypes: ReadonlySet<string> = new Set(['Task', 'MedicationRequest', 'MedicationDispense']);

function statusOf(type: string, content: string | null | undefined): string | undefined {
  if (!content || !statusTypes.has(type)) return undefined;
  const status = (JSON.parse(content) as { status?: unknown }).status;
  return typeof status === 'string' ? status : undefined;
}

export function eventFacts({ stored, previous }: WrittenVersion): EventFacts {
  const interaction = stored.deleted ? 'delete' : previous && !previous.deleted ? 'update' : 'create';
  const facts: EventFacts = { interaction };
  const status = statusOf(stored.resourceType, stored.content);
  if (status !== undefined) facts.status = status;
  const previousStatus = previous && !previous.deleted ? statusOf(previous.resourceType, previous.content) : undefined;
  if (previousStatus !== undefined) facts.previousStatus = previousStatus;
  return facts;
}

export const outboxWriteStatement: WriteStatement = (written) => {
  const { stored } = written;
  return sql`subscription_outbox_add(${stored.resourceType}, ${stored.id}, ${stored.versionId}, ${JSON.stringify(eventFacts(written))}::jsonb, ${[...new Set([...stored.patients, ...(written.previous?.patients ?? [])])]}::text[])`;
};

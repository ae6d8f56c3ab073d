/**
 * What a written version tells the topics (interaction, status and the status
 * it came from), derived at fan-out from the version's history row and the
 * one before it (fan-out.ts): nothing is recorded for it at write time.
 */
import type { EventFacts } from './topics.ts';

export interface VersionFacts {
  resourceType: string;
  deleted: boolean;
  /** Null for a deletion, or when the fan-out did not read it (a type no topic needs a status of). */
  content: string | null;
}

/** Only the topics' types need a status; parsing every other version's content would cost the fan-out for nothing. */
export const statusTypes: readonly string[] = ['Task', 'MedicationRequest', 'MedicationDispense'];

function statusOf(v: VersionFacts): string | undefined {
  if (!v.content || !statusTypes.includes(v.resourceType)) return undefined;
  const status = (JSON.parse(v.content) as { status?: unknown }).status;
  return typeof status === 'string' ? status : undefined;
}

export function eventFacts(current: VersionFacts, previous: VersionFacts | undefined): EventFacts {
  const replaced = previous && !previous.deleted ? previous : undefined;
  const facts: EventFacts = { interaction: current.deleted ? 'delete' : replaced ? 'update' : 'create' };
  const status = statusOf(current);
  if (status !== undefined) facts.status = status;
  const previousStatus = replaced ? statusOf(replaced) : undefined;
  if (previousStatus !== undefined) facts.previousStatus = previousStatus;
  return facts;
}

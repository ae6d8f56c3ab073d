/**
 * The transactional outbox: every written version adds its event row in the
 * write's own statement (src/fhir/persist.ts), one SQL function call in the
 * same round trip, so a committed change always has its event and a rolled
 * back one never does — unlike enqueueing after commit, which a crash in
 * between loses.
 *
 * Set-based form (for bundle writes, src/fhir/write-batch.ts): the rows of
 * many written versions go in with ONE INSERT … SELECT FROM
 * jsonb_array_elements(…), a CTE of the bundle's statement. Event numbers are
 * not assigned here: the fan-out (fan-out.ts) numbers each subscription's
 * events from its own counter as it consumes these rows in id order, so
 * however many rows one statement adds, every subscription's eventNumber
 * stays gap-free.
 */
import { sql, type RawBuilder } from 'kysely';
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

/** One outbox row: type, id, version, event facts, patients (the version's and the replaced one's: a move out of a compartment concerns both). */
export interface OutboxItem {
  t: string;
  i: string;
  v: number;
  f: EventFacts;
  p: string[];
}

export function outboxItem(written: WrittenVersion): OutboxItem {
  const { stored } = written;
  return { t: stored.resourceType, i: stored.id, v: stored.versionId, f: eventFacts(written), p: [...new Set([...stored.patients, ...(written.previous?.patients ?? [])])] };
}

/**
 * The outbox rows of many written versions in one statement (usable as a CTE
 * body: it returns one row per event). Rows get their ids in the items'
 * order, which is the order the fan-out numbers them in.
 */
export function outboxInsert(items: readonly OutboxItem[]): RawBuilder<unknown> {
  return sql`INSERT INTO subscription_outbox (resource_type, resource_id, version_id, facts, patients)
    SELECT e.j->>'t', e.j->>'i', (e.j->>'v')::integer, e.j->'f', ARRAY(SELECT jsonb_array_elements_text(e.j->'p'))
    FROM jsonb_array_elements(${JSON.stringify(items)}::jsonb) WITH ORDINALITY AS e(j, n)
    ORDER BY e.n RETURNING 1`;
}

export const outboxWriteStatement: WriteStatement = (written) => {
  const { t, i, v, f, p } = outboxItem(written);
  return sql`subscription_outbox_add(${t}, ${i}, ${v}, ${JSON.stringify(f)}::jsonb, ${p}::text[])`;
};

/** A bundle's writes: every event row in one INSERT (see src/fhir/write-batch.ts, which places it as a CTE of its statement). */
outboxWriteStatement.batched = {
  item: (written) => outboxItem(written),
  statements: (items) => (items.length ? [outboxInsert(items as OutboxItem[])] : []),
};

/**
 * A write's audit row goes into the write's own transaction (NOM-024: no
 * change to the record without its trace, and no trace of a change that did
 * not happen).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { WriteStatement, WrittenVersion } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import { auditRow } from './audit-event.ts';

/** The audit row of one write, or undefined when the write is not audited (internal calls). */
function auditRowOf({ stored, previous }: WrittenVersion, ctx: FhirContext): ReturnType<typeof auditRow> | undefined {
  const audit = ctx.audit;
  if (!audit) {
    return undefined;
  }
  const patients = new Set([...audit.patients, ...stored.patients, ...(previous?.patients ?? [])]);
  const interaction = audit.interaction === 'operation' || audit.interaction.startsWith('search') ? (stored.deleted ? 'delete' : previous ? 'update' : 'create') : audit.interaction;
  const row = auditRow({
    id: randomUUID(),
    recorded: ctx.now(),
    interaction,
    status: previous && !previous.deleted ? 200 : 201,
    actor: audit.actor,
    clientIp: audit.clientIp,
    requestId: audit.requestId,
    resourceType: stored.resourceType,
    resourceId: stored.id,
    versionId: String(stored.versionId),
    query: audit.query,
    patients: [...patients],
  });
  // Set now: if the write then fails, the answer is an error and is audited as one anyway.
  audit.recordedInTransaction = true;
  return row;
}

export function auditWriteStatement(): WriteStatement {
  const statement: WriteStatement = (written, ctx) => {
    const row = auditRowOf(written, ctx);
    return row ? sql`audit_append(${JSON.stringify([row])}::jsonb, true)` : undefined;
  };
  // A transaction bundle's creates: all their audit rows in one audit_append (see src/fhir/write-batch.ts).
  statement.batched = { item: auditRowOf, statements: (rows) => [sql`SELECT audit_append(${JSON.stringify(rows)}::jsonb, true)`] };
  return statement;
}

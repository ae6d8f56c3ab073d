/** SQL of the receta: row locks on prescriptions, folios, signed limits and the dispense ledger. */
import { sql } from 'kysely';
import type { Db, StoredVersion } from '../store/resource-store.ts';
import { recetaDb } from './tables.ts';

/**
 * Versions of prescriptions the dispense ledger itself writes (completed at
 * the total, active again when quantity is given back): the lifecycle lets
 * only these move a receta by the ledger. Identity of the object, so no
 * client request can claim it.
 */
export const ledgerWrites = new WeakSet<StoredVersion>();

/**
 * The current version of a resource, locked until the transaction ends
 * (SELECT … FOR UPDATE): concurrent dispenses of one prescription queue here,
 * and each reads the ledger only once the previous one has committed.
 */
export async function lockCurrent(tx: Db, resourceType: string, id: string): Promise<StoredVersion | undefined> {
  const row = await tx
    .selectFrom('resource')
    .select(['version_id', 'last_updated', 'deleted', 'content', 'patients'])
    .where('resource_type', '=', resourceType)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return row && { resourceType, id, versionId: row.version_id, lastUpdated: row.last_updated, deleted: row.deleted, content: row.content, patients: row.patients };
}

/**
 * The next folio number of the unit's institution (characters 3–5 of the
 * CLUES: `IMS` in DFIMS000011): folio numbers never repeat within an
 * institution, across all its units. Incremented in the signing
 * transaction, so a failed signature rolls it back.
 */
export async function issueFolio(tx: Db, clues: string): Promise<string> {
  const { rows } = await sql<{ last: string }>`
    INSERT INTO receta_folio_institution (institution, last) VALUES (${institutionOf(clues)}, 1)
    ON CONFLICT (institution) DO UPDATE SET last = receta_folio_institution.last + 1
    RETURNING last
  `.execute(tx);
  return String(rows[0]?.last ?? '').padStart(8, '0');
}

/** The institution code inside a CLUES (2-letter state, 3-letter institution, 6 digits). */
export function institutionOf(clues: string): string {
  return clues.slice(2, 5);
}

export async function readItem(db: Db, medicationRequestId: string) {
  return recetaDb(db).selectFrom('receta_item').selectAll().where('medication_request_id', '=', medicationRequestId).executeTakeFirst();
}

/** What the ledger holds for a prescription, leaving out one dispense (the one being rewritten). */
export async function dispensedSoFar(db: Db, medicationRequestId: string, exceptDispense?: string): Promise<{ total: number; count: number }> {
  let query = recetaDb(db)
    .selectFrom('receta_dispense')
    .select((eb) => [eb.fn.coalesce(eb.fn.sum<string>('quantity'), sql<string>`0`).as('total'), eb.fn.countAll<string>().as('count')])
    .where('medication_request_id', '=', medicationRequestId)
    .where('counted', '=', true);
  if (exceptDispense !== undefined) {
    query = query.where('dispense_id', '<>', exceptDispense);
  }
  const row = await query.executeTakeFirstOrThrow();
  return { total: Number(row.total), count: Number(row.count) };
}

/**
 * Which prescription a dispense names. Its references are already in their
 * stored form (src/fhir/normalize-reference.ts, applied by persist), so a
 * prescription of this server is `MedicationRequest/<id>` and nothing else;
 * a reference that gives only the receta folio (Reference.identifier with
 * the folio system, no reference) is looked up among signed recetas.
 */
import type { Identifier, MedicationDispense, Reference } from '@medplum/fhirtypes';
import { parseLocalReference } from '../fhir/normalize-reference.ts';
import type { Db } from '../store/resource-store.ts';
import { isFolio } from './systems.ts';
import { recetaDb } from './tables.ts';

export interface NamedPrescription {
  /** Where in the dispense (authorizingPrescription[i]). */
  index: number;
  /** The MedicationRequest ids it may be: one for a reference, every item of the folio for a folio. */
  ids: string[];
  /** The folio, when named by identifier (with or without a reference). */
  folio?: Identifier;
  /** Names something that is not a MedicationRequest of this server (another server's URL, another type, a non-folio identifier). */
  elsewhere: boolean;
}

async function folioItems(db: Db, folio: Identifier): Promise<string[]> {
  let q = recetaDb(db).selectFrom('receta_item').select('medication_request_id').where('folio', '=', folio.value ?? '');
  if (folio.system) q = q.where('folio_system', '=', folio.system);
  const rows = await q.orderBy('medication_request_id').limit(10).execute();
  return rows.map((r) => r.medication_request_id);
}

async function named(db: Db, ref: Reference, index: number): Promise<NamedPrescription> {
  const folio = isFolio(ref.identifier) ? ref.identifier : undefined;
  if (ref.reference !== undefined) {
    const local = parseLocalReference(ref.reference);
    const mr = local?.type === 'MedicationRequest' ? local.id : undefined;
    return { index, ids: mr ? [mr] : [], folio, elsewhere: mr === undefined };
  }
  if (folio?.value) {
    return { index, ids: await folioItems(db, folio), folio, elsewhere: false };
  }
  return { index, ids: [], elsewhere: true };
}

/** Every authorizingPrescription of the dispense, resolved as far as the receta tables tell. */
export async function namedPrescriptions(db: Db, dispense: MedicationDispense | undefined): Promise<NamedPrescription[]> {
  const out: NamedPrescription[] = [];
  for (const [i, ref] of (dispense?.authorizingPrescription ?? []).entries()) {
    out.push(await named(db, ref, i));
  }
  return out;
}

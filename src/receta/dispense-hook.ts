/**
 * The dispense ledger, inside every MedicationDispense write's transaction.
 * A dispense of a receta locks the prescription row (SELECT … FOR UPDATE), so
 * dispenses of one prescription from any number of pharmacies run one after
 * the other; each then checks the prescription is active, signed and within
 * its validity, that the quantity dispensed so far plus its own stays within
 * quantity × (1 + refills), and, for controlled groups, the number of
 * dispenses. The dispense that reaches the total completes the prescription
 * in the same transaction. A dispense counts while its status is preparation,
 * in-progress, on-hold or completed; moving it to cancelled, declined,
 * stopped or entered-in-error gives its quantity back. Dispenses of a receta
 * are never deleted (NOM-004): they are marked entered-in-error.
 */
import type { MedicationDispense, MedicationRequest } from '@medplum/fhirtypes';
import { forbidden } from '../auth/guard.ts';
import { conflict, unprocessable } from '../fhir/errors.ts';
import { persist, type WrittenVersion } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import { stamp } from '../fhir/versioning.ts';
import type { Db } from '../store/resource-store.ts';
import { dispensedSoFar, lockCurrent, readItem } from './receta-store.ts';
import { parseContent } from './request-hook.ts';
import { recetaDb } from './tables.ts';

const counting: ReadonlySet<string> = new Set(['preparation', 'in-progress', 'on-hold', 'completed']);

function prescriptionIds(dispense: MedicationDispense | undefined): string[] {
  return (dispense?.authorizingPrescription ?? []).flatMap((r) => {
    const m = r.reference ? /^MedicationRequest\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/\d+)?$/.exec(r.reference) : null;
    return m?.[1] ? [m[1]] : [];
  });
}

export async function dispenseHook(tx: Db, { stored, previous }: WrittenVersion, ctx: FhirContext, isReceta: (r: MedicationRequest | undefined) => boolean): Promise<void> {
  const next = parseContent<MedicationDispense>(stored.content);
  const before = parseContent<MedicationDispense>(previous?.content);
  const ids = [...new Set([...prescriptionIds(next), ...prescriptionIds(before)])].sort();
  if (ids.length === 0) {
    return;
  }
  // Locks in id order, so two dispenses naming the same prescriptions cannot deadlock.
  const locked = new Map<string, MedicationRequest | undefined>();
  for (const id of ids) {
    locked.set(id, parseContent<MedicationRequest>((await lockCurrent(tx, 'MedicationRequest', id))?.content));
  }
  const ledgerRow = await recetaDb(tx).selectFrom('receta_dispense').selectAll().where('dispense_id', '=', stored.id).executeTakeFirst();
  const recetas = ids.filter((id) => isReceta(locked.get(id)));
  if (recetas.length === 0 && !ledgerRow) {
    return;
  }
  const counted = next !== undefined && counting.has(next.status);
  if (stored.deleted) {
    if (ledgerRow?.counted) {
      throw conflict({ es: 'Un surtido de receta no se borra (NOM-004): márquelo entered-in-error', en: 'A receta dispense is never deleted (NOM-004): mark it entered-in-error' });
    }
    return;
  }
  const nextIds = prescriptionIds(next);
  const mrId = recetas[0] ?? ledgerRow?.medication_request_id ?? '';
  if (nextIds.length !== 1 || (ledgerRow && ledgerRow.medication_request_id !== nextIds[0])) {
    throw unprocessable(
      { es: 'El surtido de una receta autoriza con exactamente una prescripción (authorizingPrescription), que no cambia después', en: 'A receta dispense is authorised by exactly one prescription (authorizingPrescription), which never changes afterwards' },
      'MedicationDispense.authorizingPrescription',
      'business-rule',
    );
  }
  const request = locked.get(mrId);
  const quantity = next?.quantity?.value;
  if (counted && (!ledgerRow?.counted || Number(ledgerRow.quantity) !== quantity)) {
    await checkDispense(tx, ctx, mrId, request, next, ledgerRow?.counted ? stored.id : undefined, ledgerRow?.counted ?? false, stored.id);
  }
  await recetaDb(tx)
    .insertInto('receta_dispense')
    .values({ dispense_id: stored.id, medication_request_id: mrId, quantity: quantity ?? 0, counted, pharmacy_clues: ctx.actor?.clues ?? null, dispensed_by: ctx.actor?.subject ?? null, recorded: ctx.now() })
    .onConflict((oc) => oc.column('dispense_id').doUpdateSet({ quantity: quantity ?? 0, counted, recorded: ctx.now() }))
    .execute();
  if (counted && request?.status === 'active') {
    await completeWhenFull(tx, ctx, mrId, request);
  }
}

async function checkDispense(
  tx: Db,
  ctx: FhirContext,
  mrId: string,
  request: MedicationRequest | undefined,
  dispense: MedicationDispense | undefined,
  except: string | undefined,
  wasCounted: boolean,
  dispenseId: string,
): Promise<void> {
  const role = ctx.actor?.role;
  if (ctx.actor && role !== 'pharmacy' && role !== 'admin') {
    throw forbidden({ es: 'Una receta la surte una farmacia: se requiere un token con rol pharmacy', en: 'A receta is dispensed by a pharmacy: a token with the pharmacy role is required' });
  }
  const where = `MedicationRequest/${mrId}`;
  if (request?.status !== 'active') {
    throw conflict({ es: `${where} no se puede surtir: está ${request?.status ?? 'eliminada o no existe'}`, en: `${where} cannot be dispensed: it is ${request?.status ?? 'deleted or missing'}` }, 'MedicationDispense.authorizingPrescription');
  }
  const item = await readItem(tx, mrId);
  if (!item) {
    throw conflict({ es: `${where} no está firmada`, en: `${where} is not signed` }, 'MedicationDispense.authorizingPrescription');
  }
  const now = ctx.now();
  if (item.valid_until && now >= item.valid_until) {
    throw unprocessable({ es: `${where} venció el ${item.valid_until.toISOString()} (dispenseRequest.validityPeriod)`, en: `${where} expired on ${item.valid_until.toISOString()} (dispenseRequest.validityPeriod)` }, 'MedicationDispense.authorizingPrescription', 'business-rule');
  }
  if (item.valid_from && now < item.valid_from) {
    throw unprocessable({ es: `${where} es válida a partir del ${item.valid_from.toISOString()}`, en: `${where} is valid from ${item.valid_from.toISOString()}` }, 'MedicationDispense.authorizingPrescription', 'business-rule');
  }
  const quantity = dispense?.quantity;
  if (typeof quantity?.value !== 'number' || quantity.value <= 0) {
    throw unprocessable({ es: 'El surtido de una receta debe indicar la cantidad surtida (quantity)', en: 'A receta dispense must state the quantity dispensed (quantity)' }, 'MedicationDispense.quantity', 'required');
  }
  const unit = quantity.code ?? quantity.unit;
  if (item.quantity_unit && unit && unit !== item.quantity_unit) {
    throw unprocessable({ es: `La unidad surtida "${unit}" no es la prescrita "${item.quantity_unit}"`, en: `The dispensed unit "${unit}" is not the prescribed "${item.quantity_unit}"` }, 'MedicationDispense.quantity', 'business-rule');
  }
  const so = await dispensedSoFar(tx, mrId, except ?? dispenseId);
  const max = Number(item.max_total);
  if (so.total + quantity.value > max) {
    throw conflict({
      es: `Surtir ${quantity.value} excede lo prescrito en ${where}: prescrito ${max} (con resurtidos), surtido ${so.total}, disponible ${max - so.total}`,
      en: `Dispensing ${quantity.value} exceeds what ${where} prescribes: prescribed ${max} (refills included), dispensed ${so.total}, left ${max - so.total}`,
    }, 'MedicationDispense.quantity');
  }
  if (item.max_dispenses !== null && !wasCounted && so.count + 1 > item.max_dispenses) {
    throw conflict({
      es: `${where} (grupo ${item.controlled_group ?? ''}) admite ${item.max_dispenses} surtido(s) y ya tiene ${so.count}`,
      en: `${where} (group ${item.controlled_group ?? ''}) allows ${item.max_dispenses} dispense(s) and has ${so.count} already`,
    }, 'MedicationDispense.authorizingPrescription');
  }
}

/** The dispense that reaches the prescribed total completes the prescription, in the same transaction. */
async function completeWhenFull(tx: Db, ctx: FhirContext, mrId: string, request: MedicationRequest): Promise<void> {
  const item = await readItem(tx, mrId);
  if (!item || (await dispensedSoFar(tx, mrId)).total < Number(item.max_total)) {
    return;
  }
  const current = await lockCurrent(tx, 'MedicationRequest', mrId);
  if (!current) {
    return;
  }
  const completed = stamp({ ...request, status: 'completed' }, mrId, current.versionId + 1, ctx.now());
  // Its own audit row says update (the request's interaction is the dispense's create).
  const audit = ctx.audit ? { ...ctx.audit, interaction: 'operation' } : undefined;
  if (!(await persist({ ...ctx, db: tx, audit }, completed, current))) {
    throw conflict({ es: `MedicationRequest/${mrId} cambió durante el surtido; reintente`, en: `MedicationRequest/${mrId} changed during the dispense; retry` });
  }
}

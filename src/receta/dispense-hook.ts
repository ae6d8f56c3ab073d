/**
 * The dispense ledger, inside every MedicationDispense write's transaction.
 * A receta dispense names exactly one signed prescription (by reference or
 * by folio), whose row it locks (SELECT … FOR UPDATE), so dispenses of one
 * prescription from any number of pharmacies and server instances run one
 * after the other; each that adds quantity then checks the prescription is
 * active and within its validity, that the quantity (in the prescribed
 * unit) dispensed so far plus its own stays within quantity × (1 + refills),
 * and, for controlled groups, the number of dispenses.
 *
 * The ledger follows the dispense's status: preparation, in-progress,
 * on-hold, completed and unknown count; cancelled, declined, stopped and
 * entered-in-error give the quantity back. The write that reaches the total
 * completes the prescription, one that gives quantity back reopens a
 * completed one (active again, so back in the pharmacy queue) while it has
 * not expired — both in the same transaction, each with its own audit row.
 * Dispenses of a receta are never deleted (NOM-004): they are marked
 * entered-in-error, by the pharmacy (CLUES) that recorded them. Under strict MX profiles every MedicationRequest is a
 * receta, so every dispense must name one.
 */
import type { MedicationDispense, MedicationRequest } from '@medplum/fhirtypes';
import { forbidden } from '../auth/guard.ts';
import { conflict, unprocessable, type Message } from '../fhir/errors.ts';
import { persist, type WrittenVersion } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import { stamp } from '../fhir/versioning.ts';
import type { Db } from '../store/resource-store.ts';
import { namedPrescriptions, type NamedPrescription } from './dispense-prescription.ts';
import { requireQuantity } from './dispense-quantity.ts';
import { dispensedSoFar, ledgerWrites, lockCurrent, readItem } from './receta-store.ts';
import { parseContent } from './request-hook.ts';
import { recetaDb } from './tables.ts';

// `unknown` counts: only a dispense stated as not (or no longer) handed over gives its quantity back.
const counting: ReadonlySet<string> = new Set(['preparation', 'in-progress', 'on-hold', 'completed', 'unknown']);
const dispensers: ReadonlySet<string> = new Set(['pharmacy', 'admin']);
const where = 'MedicationDispense.authorizingPrescription';

export interface LedgerRules {
  isReceta(request: MedicationRequest | undefined): boolean;
  /** Strict MX profiles: every MedicationRequest is a receta, every dispense is a receta dispense. */
  strict: boolean;
}

const unresolved = (m: Message) => unprocessable(m, where, 'business-rule');

export async function dispenseHook(tx: Db, { stored }: WrittenVersion, ctx: FhirContext, rules: LedgerRules): Promise<void> {
  const next = parseContent<MedicationDispense>(stored.content);
  const ledgerRow = await recetaDb(tx).selectFrom('receta_dispense').selectAll().where('dispense_id', '=', stored.id).executeTakeFirst();
  const named = await namedPrescriptions(tx, next);
  const ids = [...new Set([...named.flatMap((n) => n.ids), ...(ledgerRow ? [ledgerRow.medication_request_id] : [])])].sort();
  // Locks in id order, so two dispenses naming the same prescriptions cannot deadlock.
  const locked = new Map<string, MedicationRequest | undefined>();
  for (const id of ids) {
    locked.set(id, parseContent<MedicationRequest>((await lockCurrent(tx, 'MedicationRequest', id))?.content));
  }
  const onLedger = ledgerRow !== undefined || (next !== undefined && rules.strict) || named.some((n) => n.folio !== undefined || n.ids.some((id) => rules.isReceta(locked.get(id))));
  if (!onLedger) {
    return;
  }
  const role = ctx.actor?.role;
  if (ctx.actor && !dispensers.has(role ?? '')) {
    throw forbidden({ es: 'Una receta la surte una farmacia: se requiere un token con rol pharmacy', en: 'A receta is dispensed by a pharmacy: a token with the pharmacy role is required' });
  }
  // The pharmacy that recorded a dispense is the one that corrects it: another cannot give its quantity back.
  if (ledgerRow?.pharmacy_clues && role === 'pharmacy' && ctx.actor?.clues !== ledgerRow.pharmacy_clues) {
    throw forbidden({
      es: `Este surtido lo registró la farmacia ${ledgerRow.pharmacy_clues}: solo ella lo modifica o cancela`,
      en: `This dispense was recorded by pharmacy ${ledgerRow.pharmacy_clues}: only that pharmacy changes or cancels it`,
    });
  }
  if (!next) {
    if (ledgerRow?.counted) {
      throw conflict({ es: 'Un surtido de receta no se borra (NOM-004): márquelo entered-in-error', en: 'A receta dispense is never deleted (NOM-004): mark it entered-in-error' });
    }
    return;
  }
  const mrId = theOnePrescription(named, locked, rules);
  if (ledgerRow && ledgerRow.medication_request_id !== mrId) {
    throw unresolved({ es: `Este surtido es de MedicationRequest/${ledgerRow.medication_request_id}: su prescripción no cambia`, en: `This dispense belongs to MedicationRequest/${ledgerRow.medication_request_id}: its prescription never changes` });
  }
  const request = locked.get(mrId);
  const item = await readItem(tx, mrId);
  if (!request || !item) {
    throw unresolved({ es: `MedicationRequest/${mrId} no es una receta firmada (use $sign antes de surtir)`, en: `MedicationRequest/${mrId} is not a signed receta (sign it with $sign before dispensing)` });
  }
  const counted = counting.has(next.status);
  if (counted) {
    // Not for a give-back: a dispense recorded before this rule (a bare number) can still be marked entered-in-error.
    requireQuantity(next, request.dispenseRequest?.quantity);
  }
  const quantity = next.quantity?.value ?? 0;
  const was = ledgerRow?.counted ? Number(ledgerRow.quantity) : 0;
  const now = counted ? quantity : 0;
  if (now > was) {
    await checkAvailable(tx, ctx, mrId, request, item, now, ledgerRow?.counted ?? false, stored.id);
  }
  await recetaDb(tx)
    .insertInto('receta_dispense')
    .values({ dispense_id: stored.id, medication_request_id: mrId, quantity, counted, pharmacy_clues: ctx.actor?.clues ?? null, dispensed_by: ctx.actor?.subject ?? null, recorded: ctx.now() })
    .onConflict((oc) => oc.column('dispense_id').doUpdateSet({ quantity, counted, recorded: ctx.now() }))
    .execute();
  if (now > was && request.status === 'active') {
    await setStatusByLedger(tx, ctx, mrId, request, 'completed', (total) => total >= Number(item.max_total));
  } else if (now < was && request.status === 'completed' && !(item.valid_until && ctx.now() >= item.valid_until)) {
    await setStatusByLedger(tx, ctx, mrId, request, 'active', (total) => total < Number(item.max_total));
  }
}

/** The one prescription of this server a receta dispense names; anything else is 422. */
function theOnePrescription(named: readonly NamedPrescription[], locked: ReadonlyMap<string, MedicationRequest | undefined>, rules: LedgerRules): string {
  if (named.length !== 1) {
    throw unresolved({
      es: `El surtido de una receta autoriza con exactamente una prescripción (authorizingPrescription); llegaron ${named.length}`,
      en: `A receta dispense is authorised by exactly one prescription (authorizingPrescription); got ${named.length}`,
    });
  }
  const [one] = named as [NamedPrescription];
  if (one.elsewhere) {
    throw unresolved({ es: 'authorizingPrescription debe ser MedicationRequest/{id} de este servidor o el folio de la receta (identifier)', en: 'authorizingPrescription must be MedicationRequest/{id} of this server or the receta folio (identifier)' });
  }
  if (one.ids.length !== 1) {
    const folio = `${one.folio?.system ?? ''}|${one.folio?.value ?? ''}`;
    throw unresolved(
      one.ids.length === 0
        ? { es: `Ninguna receta firmada tiene el folio ${folio}`, en: `No signed receta has folio ${folio}` }
        : { es: `El folio ${folio} tiene ${one.ids.length} prescripciones: indique cuál con reference`, en: `Folio ${folio} has ${one.ids.length} prescriptions: name one with reference` },
    );
  }
  const id = one.ids[0] ?? '';
  const request = locked.get(id);
  if (!request) {
    throw unresolved({ es: `MedicationRequest/${id} no existe o fue eliminada`, en: `MedicationRequest/${id} does not exist or was deleted` });
  }
  if (!rules.isReceta(request)) {
    throw unresolved({ es: `MedicationRequest/${id} no es una receta`, en: `MedicationRequest/${id} is not a receta` });
  }
  if (one.folio && (one.folio.system !== request.groupIdentifier?.system || one.folio.value !== request.groupIdentifier?.value)) {
    throw unresolved({ es: `El folio indicado no es el de MedicationRequest/${id}`, en: `The folio given is not the one of MedicationRequest/${id}` });
  }
  return id;
}

type Item = NonNullable<Awaited<ReturnType<typeof readItem>>>;

/** May this dispense add quantity to the ledger (count `quantity` where it counted nothing or less)? */
async function checkAvailable(tx: Db, ctx: FhirContext, mrId: string, request: MedicationRequest, item: Item, quantity: number, wasCounted: boolean, dispenseId: string): Promise<void> {
  const ref = `MedicationRequest/${mrId}`;
  if (request.status !== 'active') {
    throw conflict({ es: `${ref} no se puede surtir: está ${request.status}`, en: `${ref} cannot be dispensed: it is ${request.status}` }, where);
  }
  const now = ctx.now();
  if (item.valid_until && now >= item.valid_until) {
    throw unresolved({ es: `${ref} venció el ${item.valid_until.toISOString()} (dispenseRequest.validityPeriod)`, en: `${ref} expired on ${item.valid_until.toISOString()} (dispenseRequest.validityPeriod)` });
  }
  if (item.valid_from && now < item.valid_from) {
    throw unresolved({ es: `${ref} es válida a partir del ${item.valid_from.toISOString()}`, en: `${ref} is valid from ${item.valid_from.toISOString()}` });
  }
  const so = await dispensedSoFar(tx, mrId, dispenseId);
  const max = Number(item.max_total);
  if (so.total + quantity > max) {
    throw conflict({
      es: `Surtir ${quantity} excede lo prescrito en ${ref}: prescrito ${max} (con resurtidos), surtido ${so.total}, disponible ${max - so.total}`,
      en: `Dispensing ${quantity} exceeds what ${ref} prescribes: prescribed ${max} (refills included), dispensed ${so.total}, left ${max - so.total}`,
    }, 'MedicationDispense.quantity');
  }
  if (item.max_dispenses !== null && !wasCounted && so.count + 1 > item.max_dispenses) {
    throw conflict({
      es: `${ref} (grupo ${item.controlled_group ?? ''}) admite ${item.max_dispenses} surtido(s) y ya tiene ${so.count}`,
      en: `${ref} (group ${item.controlled_group ?? ''}) allows ${item.max_dispenses} dispense(s) and has ${so.count} already`,
    }, where);
  }
}

/**
 * The prescription's status as the ledger now makes it (completed at the
 * total, active again below it), written in the dispense's transaction when
 * `due(total)` holds; its own audit row says operation (the request's
 * interaction is the dispense's).
 */
async function setStatusByLedger(tx: Db, ctx: FhirContext, mrId: string, request: MedicationRequest, status: 'completed' | 'active', due: (total: number) => boolean): Promise<void> {
  if (!due((await dispensedSoFar(tx, mrId)).total)) {
    return;
  }
  const current = await lockCurrent(tx, 'MedicationRequest', mrId);
  if (!current) {
    return;
  }
  const next = stamp({ ...request, status }, mrId, current.versionId + 1, ctx.now());
  ledgerWrites.add(next);
  const audit = ctx.audit ? { ...ctx.audit, interaction: 'operation' } : undefined;
  if (!(await persist({ ...ctx, db: tx, audit }, next, current))) {
    throw conflict({ es: `MedicationRequest/${mrId} cambió durante el surtido; reintente`, en: `MedicationRequest/${mrId} changed during the dispense; retry` });
  }
}

/**
 * The receta lifecycle the server enforces on every write of a
 * MedicationRequest that is a receta:
 *
 *   (create) → draft ─$sign→ active ─→ completed (dispense ledger full)
 *              │                 ├─→ stopped (after partial dispensing too)
 *              │    active ←─ completed (quantity given back by the ledger, while unexpired)
 *              │                 ├─→ cancelled | entered-in-error (nothing dispensed yet)
 *              └→ cancelled | entered-in-error | deleted
 *
 * completed, cancelled, stopped and entered-in-error are final, but for the
 * ledger's own reopening of a completed receta. A signed
 * prescription's content (everything but meta, status, statusReason) never
 * changes. Illegal transitions are 409; content changes and a receta created
 * in another status than draft are 422.
 * Status codes: https://hl7.org/fhir/R4/valueset-medicationrequest-status.html
 */
import type { MedicationRequest } from '@medplum/fhirtypes';
import { conflict, FhirError, issue, unprocessable } from '../fhir/errors.ts';

export type RxStatus = MedicationRequest['status'];

export const finalStatuses: ReadonlySet<RxStatus> = new Set(['completed', 'cancelled', 'stopped', 'entered-in-error']);

export interface Transition {
  /** Undefined for a first version (or over a deletion). */
  from: RxStatus | undefined;
  /** Undefined for a deletion. */
  to: RxStatus | undefined;
  /** The signed content differs from the previous version's. */
  contentChanged: boolean;
  /** The write is $sign's own (a signature for exactly this version was recorded in this transaction). */
  signing: boolean;
  /** The dispense ledger holds the prescribed total. */
  fullyDispensed: boolean;
  /** Some quantity was dispensed already. */
  anyDispensed: boolean;
  /** The write is the dispense ledger's own (completion or reopening, src/receta/dispense-hook.ts). */
  byLedger?: boolean;
}

const name = (s: RxStatus | undefined) => s ?? 'eliminada';
const nameEn = (s: RxStatus | undefined) => s ?? 'deleted';

export function transitionError(t: Transition): FhirError | undefined {
  const { from, to } = t;
  const move = { es: `${name(from)} → ${name(to)}`, en: `${nameEn(from)} → ${nameEn(to)}` };
  if (from === undefined) {
    return to === 'draft'
      ? undefined
      : unprocessable(
          { es: `Una receta se crea en estado draft y solo se activa al firmarla con $sign (llegó "${name(to)}")`, en: `A receta is created as draft and becomes active only when signed with $sign (got "${nameEn(to)}")` },
          'MedicationRequest.status',
          'business-rule',
        );
  }
  if (from === 'draft') {
    if (to === 'draft' || to === 'cancelled' || to === 'entered-in-error' || to === undefined) return undefined;
    if (to === 'active' && t.signing) return undefined;
    if (to === 'active') return refuse(move, { es: 'una receta se activa solo al firmarla: POST MedicationRequest/{id}/$sign', en: 'a receta becomes active only by signing it: POST MedicationRequest/{id}/$sign' });
    return refuse(move, { es: 'un borrador solo puede firmarse, cancelarse o marcarse entered-in-error', en: 'a draft can only be signed, cancelled or marked entered-in-error' });
  }
  if (from === 'completed' && to === 'active' && t.byLedger && !t.fullyDispensed && !t.contentChanged) {
    return undefined;
  }
  if (finalStatuses.has(from)) {
    return refuse(move, { es: `${name(from)} es un estado final`, en: `${nameEn(from)} is a final status` });
  }
  if (t.contentChanged) {
    return new FhirError(422, [
      issue('business-rule', { es: `La receta está firmada (${name(from)}): su contenido clínico no puede cambiar, solo su estado; cancélela y emita otra`, en: `The receta is signed (${nameEn(from)}): its clinical content cannot change, only its status; cancel it and prescribe again` }, 'MedicationRequest'),
    ]);
  }
  if (from === 'active') {
    if (to === 'active' || to === 'stopped') return undefined;
    if (to === 'completed') return t.fullyDispensed ? undefined : refuse(move, { es: 'completed lo pone el servidor cuando se surte la cantidad prescrita; para terminarla antes use stopped', en: 'completed is set by the server once the prescribed quantity is dispensed; to end it earlier use stopped' });
    if (to === 'cancelled' || to === 'entered-in-error') return t.anyDispensed ? refuse(move, { es: 'ya se surtió parte de la receta; use stopped', en: 'part of the receta was dispensed already; use stopped' }) : undefined;
    if (to === undefined) return refuse(move, { es: 'una receta firmada no se borra (NOM-004); use cancelled o entered-in-error', en: 'a signed receta is never deleted (NOM-004); use cancelled or entered-in-error' });
    return refuse(move, { es: 'una receta firmada no vuelve a borrador ni admite ese estado', en: 'a signed receta cannot go back to draft or take that status' });
  }
  return refuse(move, { es: `estado ${name(from)} no admitido en una receta`, en: `status ${nameEn(from)} is not part of the receta lifecycle` });
}

function refuse(move: { es: string; en: string }, why: { es: string; en: string }): FhirError {
  return conflict({ es: `Transición de receta no permitida (${move.es}): ${why.es}`, en: `Receta transition not allowed (${move.en}): ${why.en}` }, 'MedicationRequest.status');
}

/**
 * The receta's one write hook, dispatching by resource type: the lifecycle
 * of MedicationRequest, the dispense ledger of MedicationDispense, the
 * catalogue of Medication, and the immutability of signature Provenances.
 * Runs in each write's transaction (src/fhir/persist.ts), before the audit
 * hook, so a refused write leaves no trace but its refusal.
 */
import { conflict } from '../fhir/errors.ts';
import type { WriteHook } from '../fhir/persist.ts';
import { catalogWriteHook } from './catalog.ts';
import { dispenseHook, type LedgerRules } from './dispense-hook.ts';
import { medicationRequestHook, parseContent } from './request-hook.ts';
import type { MedicationRequest } from '@medplum/fhirtypes';
import { recetaDb } from './tables.ts';

export function recetaWriteHook(rules: LedgerRules): WriteHook {
  const { isReceta } = rules;
  const hook: WriteHook = async (tx, written, ctx) => {
    switch (written.stored.resourceType) {
      case 'MedicationRequest':
        return medicationRequestHook(tx, written, isReceta);
      case 'MedicationDispense':
        return dispenseHook(tx, written, ctx, rules);
      case 'Medication':
        return catalogWriteHook(tx, written, ctx);
      case 'Provenance':
        if (written.previous && (await recetaDb(tx).selectFrom('receta').select('folio').where('provenance_id', '=', written.stored.id).executeTakeFirst())) {
          throw conflict({ es: `Provenance/${written.stored.id} es la firma de una receta: no se modifica ni se borra`, en: `Provenance/${written.stored.id} is a receta signature: it is never changed or deleted` });
        }
        return;
      default:
        return;
    }
  };
  // Only these types open a transaction for the receta rules.
  hook.types = ['MedicationRequest', 'MedicationDispense', 'Medication', 'Provenance'];
  // A first version of a MedicationRequest that is no receta, or of a Provenance, has no rule to meet (a bundle's creates then go out set-based).
  hook.idle = ({ stored, previous }) =>
    previous === undefined && (stored.resourceType === 'Provenance' || (stored.resourceType === 'MedicationRequest' && !isReceta(parseContent<MedicationRequest>(stored.content))));
  return hook;
}

/** What the receta operations need from the server: its signing keys and which MedicationRequests are recetas. */
import type { MedicationRequest } from '@medplum/fhirtypes';
import type { ProfileEnforcement } from '../validation/validate-profiles.ts';
import type { SigningKeyRing } from './signing-keys.ts';
import { mxMedicationRequestProfile } from './systems.ts';

export interface RecetaContext {
  keys: SigningKeyRing;
  isReceta(request: MedicationRequest | undefined): boolean;
}

/**
 * A MedicationRequest is a receta when the MX receta profile applies to it:
 * always under strict enforcement, else when it declares the profile. Only
 * recetas follow the lifecycle, the signature and the dispense ledger.
 */
export function recetaPredicate(enforcement: ProfileEnforcement): (request: MedicationRequest | undefined) => boolean {
  return (request) =>
    request?.resourceType === 'MedicationRequest' && (enforcement === 'strict' || (request.meta?.profile ?? []).some((p) => p.split('|')[0] === mxMedicationRequestProfile));
}

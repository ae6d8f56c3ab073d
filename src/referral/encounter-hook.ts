/**
 * A virtual consultation (Encounter class VR) needs the patient's recorded
 * informed consent to telemedicine: NOM-004-SSA3-2012 (10.1) asks for a
 * carta de consentimiento informado for procedures that carry risk or are
 * done in a way the patient must agree to, and remote care means the patient
 * accepts being seen and heard through a network, with its privacy risks
 * (LGPDPPSO). `TELEMEDICINE_CONSENT=off` exists for institutions that keep
 * that consent outside the ECU (paper), and for loading historical
 * encounters; the default is `required`.
 */
import type { Consent, Encounter } from '@medplum/fhirtypes';
import { rowAccessFor } from '../auth/readable.ts';
import { unprocessable } from '../fhir/errors.ts';
import type { WrittenVersion } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import type { Db } from '../store/resource-store.ts';
import { storedResource } from '../store/stored-content.ts';
import { findResources } from './referral-store.ts';
import { actCodeSystem, consentCategorySystem, idOf, telemedicineConsent, virtualClass } from './systems.ts';

export type ConsentPolicy = 'required' | 'off';

export function isVirtual(e: Encounter | undefined): e is Encounter {
  return e !== undefined && e.class?.system === actCodeSystem && e.class.code === virtualClass && e.status !== 'cancelled' && e.status !== 'entered-in-error';
}

export function consentCovers(consent: Consent, now: Date): boolean {
  const period = consent.provision?.period;
  return consent.status === 'active' && consent.provision?.type !== 'deny' && (!period?.start || new Date(period.start) <= now) && (!period?.end || new Date(period.end) >= now);
}

/**
 * Whether the write needs the consent check: checked when an encounter becomes virtual or changes patient; a later
 * revocation does not block correcting it. Decided without the database, so that every other encounter write has no
 * hook to run and joins a bundle's or an import's set-based statement (src/fhir/write-batch.ts).
 */
export function needsConsentCheck({ stored, previous }: WrittenVersion): boolean {
  const next = storedResource<Encounter>(stored);
  if (!isVirtual(next)) return false;
  const before = previous ? storedResource<Encounter>(previous) : undefined;
  return !(isVirtual(before) && before.subject?.reference === next.subject?.reference);
}

export async function encounterHook(tx: Db, written: WrittenVersion, ctx: FhirContext): Promise<void> {
  if (!needsConsentCheck(written)) return;
  const next = storedResource<Encounter>(written.stored)!;
  const patientId = idOf('Patient', next.subject?.reference);
  const consents = patientId
    ? await findResources<Consent>(tx, ctx, 'Consent', { patient: `Patient/${patientId}`, status: 'active', category: `${consentCategorySystem}|${telemedicineConsent}` }, rowAccessFor(ctx.actor))
    : [];
  if (!consents.some((c) => consentCovers(c, ctx.now()))) {
    throw unprocessable(
      {
        es: `Una consulta virtual (class VR) requiere el consentimiento informado de telemedicina del paciente: un Consent active de Patient/${patientId ?? '?'} con category ${consentCategorySystem}|${telemedicineConsent} vigente`,
        en: `A virtual consultation (class VR) requires the patient's telemedicine informed consent: an active Consent of Patient/${patientId ?? '?'} with category ${consentCategorySystem}|${telemedicineConsent} in force`,
      },
      'Encounter.class',
      'business-rule',
    );
  }
}

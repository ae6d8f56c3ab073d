/**
 * Codes and URLs of the referral network (referencia y contrarreferencia).
 * Where HL7 has a code we use it (SNOMED CT referral category, task-code
 * `fulfill`, v3 ActCode VR for virtual care, LOINC consult note); our own
 * CodeSystems only name what HL7 leaves to each network (the folio of the
 * referring unit, the business sub-states, the telemedicine consent).
 */
import type { CodeableConcept, Coding } from '@medplum/fhirtypes';

export const referralProfile = 'https://ecu-fhir.org/fhir/StructureDefinition/mx-referencia';
/** SNOMED CT 3457005 "Patient referral": ServiceRequest.category of a referral. */
export const snomed = 'http://snomed.info/sct';
export const referralCategory = '3457005';
export const taskCodeSystem = 'http://hl7.org/fhir/CodeSystem/task-code';
/** Modality of care (in-person / telemedicine), as v3 ActCode encounter classes. */
export const actCodeSystem = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const virtualClass = 'VR';
export const inPersonClass = 'AMB';
export const modalityExtension = 'https://ecu-fhir.org/fhir/StructureDefinition/mx-modalidad-atencion';
/** Folio de referencia: the referring unit's own number, system `…/sid/referencia/{CLUES}`. */
export const folioSystemPrefix = 'https://ecu-fhir.org/fhir/sid/referencia/';
export const businessStatusSystem = 'https://ecu-fhir.org/fhir/CodeSystem/estado-referencia';
/** LOINC 11488-4 Consult note: the type of a contrarreferencia Composition (nota de interconsulta, NOM-004 6.3). */
export const loinc = 'http://loinc.org';
export const consultNote = '11488-4';
export const consentCategorySystem = 'https://ecu-fhir.org/fhir/CodeSystem/tipo-consentimiento';
export const telemedicineConsent = 'telemedicina';

export function hasCoding(concepts: CodeableConcept | CodeableConcept[] | undefined, system: string, code: string): boolean {
  const list = Array.isArray(concepts) ? concepts : concepts ? [concepts] : [];
  return list.some((c) => (c.coding ?? []).some((x: Coding) => x.system === system && x.code === code));
}

/** `Organization/123` (relative, or absolute ending so) → `123`. */
export function idOf(type: string, reference: string | undefined): string | undefined {
  const m = reference ? new RegExp(`(?:^|/)${type}/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^/]+)?$`).exec(reference) : null;
  return m?.[1];
}

/**
 * URIs of the receta electrónica. The folio system is the shared MX
 * convention (src/mx/README.md); the rest are our conventions under
 * the canonical base https://ecu-fhir.org/fhir.
 */
import type { Identifier } from '@medplum/fhirtypes';

export const folioSystemPrefix = 'https://ecu-fhir.org/fhir/sid/receta/';
export const compendioSystem = 'https://ecu-fhir.org/fhir/CodeSystem/compendio-nacional';
export const mxMedicationRequestProfile = 'https://ecu-fhir.org/fhir/StructureDefinition/mx-medication-request';
/** Extension on a catalogue Medication: its group under Ley General de Salud art. 226 (valueCoding). */
export const controlledGroupExtension = 'https://ecu-fhir.org/fhir/StructureDefinition/mx-grupo-medicamento';
export const controlledGroupSystem = 'https://ecu-fhir.org/fhir/CodeSystem/grupo-medicamento';
/** MedicationRequest.identifier: barcode/folio of the COFEPRIS special prescription form (group I). */
export const specialFolioSystem = 'https://ecu-fhir.org/fhir/sid/cofepris/recetario-especial';
/** Provenance.signature.type: ASTM E1762-95 author's signature. */
export const authorSignatureType = { system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.1', display: "Author's Signature" };

export function folioSystem(clues: string): string {
  return folioSystemPrefix + clues;
}

export function isFolio(identifier: Identifier | undefined): boolean {
  return identifier?.system?.startsWith(folioSystemPrefix) ?? false;
}

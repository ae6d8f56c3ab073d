/**
 * `Identifier.system` (and code system) URIs for Mexican identifiers. National
 * OIDs come from the DGIS "Guía de Intercambio de Información en Salud para
 * Documentos Clínicos Electrónicos" (GIIS-A001-CDAMX), which uses them as CDA
 * `id/@root`; the `https://ecu-fhir.org/fhir/sid/…` ones are our convention
 * where no national OID exists. Source: src/mx/README.md ("Identifier systems").
 */

/** Canonical base of our conformance resources (StructureDefinition, ValueSet, CodeSystem, SearchParameter, extensions). */
export const ecuCanonicalBase = 'https://ecu-fhir.org/fhir';

/** CURP (RENAPO). GIIS-A001 patient `id root`, assigningAuthorityName "CURP". */
export const curpSystem = 'urn:oid:2.16.840.1.113883.4.629';

/** CLUES, health facility key (SS/DGIS catalogue). GIIS-A001 providerOrganization / healthCareFacility. */
export const cluesSystem = 'urn:oid:2.16.840.1.113883.4.631';

/** Cédula profesional (SEP). GIIS-A001 assignedEntity of physicians. */
export const cedulaProfesionalSystem = 'urn:oid:2.16.840.1.113883.3.215.12.18';

/** Licencia sanitaria of a facility. GIIS-A001. */
export const licenciaSanitariaSystem = 'urn:oid:2.16.840.1.113883.3.215.1.1';

/** Nationality (RENAPO catalogue). GIIS-A001. */
export const nationalitySystem = 'urn:oid:2.16.840.1.113883.3.215.12.15';

/** RFC (SAT tax id). GIIS-A001. */
export const rfcSystem = 'urn:oid:2.16.840.1.113883.4.630';

/** NSS (IMSS social security number). Our convention: no national OID found. */
export const nssSystem = 'https://ecu-fhir.org/fhir/sid/nss';

/** Compendio Nacional / Cuadro Básico medicine key (e.g. `010.000.0104.00`), as an identifier system. GIIS-A001. */
export const medicineKeySystem = 'urn:oid:2.16.840.1.113883.3.215.12.8';

/** Our CodeSystem for the same Compendio Nacional keys (README, "Receta electrónica"; our convention). */
export const compendioNacionalCodeSystem = 'https://ecu-fhir.org/fhir/CodeSystem/compendio-nacional';

/** CIE-10 (DGIS keys: no dot, X-padded, e.g. `I10X`). GIIS-A001. */
export const cie10System = 'urn:oid:2.16.840.1.113883.6.3';

/** The FHIR ICD-10 URI, also accepted for CIE-10 codes. */
export const icd10System = 'http://hl7.org/fhir/sid/icd-10';

/** Prefix of the expediente systems; one system per CLUES follows it. */
export const expedienteSystemPrefix = 'https://ecu-fhir.org/fhir/sid/expediente/';

/**
 * The `Identifier.system` of expediente (clinical record) numbers opened by
 * the unit `clues`: `https://ecu-fhir.org/fhir/sid/expediente/{CLUES}`, with
 * `type` = v2-0203 `MR` and `assigner` = the unit's Organization. Our
 * convention: an expediente number is only unique inside the unit that
 * opened it. Pass a CLUES `validateClues` accepted; this only builds the URI.
 */
export function expedienteSystem(clues: string): string {
  return `${expedienteSystemPrefix}${clues}`;
}

/** Prefix of the receta folio systems; one system per CLUES follows it. */
export const recetaFolioSystemPrefix = 'https://ecu-fhir.org/fhir/sid/receta/';

/**
 * The `Identifier.system` of prescription (receta) folios issued by the unit
 * `clues`: `https://ecu-fhir.org/fhir/sid/receta/{CLUES}`. Our convention.
 * Pass a CLUES `validateClues` accepted; this only builds the URI.
 */
export function recetaFolioSystem(clues: string): string {
  return `${recetaFolioSystemPrefix}${clues}`;
}

import { describe, expect, it } from 'vitest';
import * as systems from './systems.ts';

// URIs copied from src/mx/README.md ("Identifier systems").
describe('identifier systems', () => {
  it('match the README table', () => {
    expect(systems.curpSystem).toBe('urn:oid:2.16.840.1.113883.4.629');
    expect(systems.cluesSystem).toBe('urn:oid:2.16.840.1.113883.4.631');
    expect(systems.cedulaProfesionalSystem).toBe('urn:oid:2.16.840.1.113883.3.215.12.18');
    expect(systems.licenciaSanitariaSystem).toBe('urn:oid:2.16.840.1.113883.3.215.1.1');
    expect(systems.nationalitySystem).toBe('urn:oid:2.16.840.1.113883.3.215.12.15');
    expect(systems.nssSystem).toBe('https://ecu-fhir.org/fhir/sid/nss');
    expect(systems.rfcSystem).toBe('urn:oid:2.16.840.1.113883.4.630');
    expect(systems.medicineKeySystem).toBe('urn:oid:2.16.840.1.113883.3.215.12.8');
    expect(systems.cie10System).toBe('urn:oid:2.16.840.1.113883.6.3');
    expect(systems.icd10System).toBe('http://hl7.org/fhir/sid/icd-10');
    expect(systems.ecuCanonicalBase).toBe('https://ecu-fhir.org/fhir');
    expect(systems.compendioNacionalCodeSystem).toBe('https://ecu-fhir.org/fhir/CodeSystem/compendio-nacional');
  });

  it('build the per-unit expediente and receta systems from the CLUES', () => {
    expect(systems.expedienteSystem('DFIMS000011')).toBe('https://ecu-fhir.org/fhir/sid/expediente/DFIMS000011');
    expect(systems.recetaFolioSystem('DFIMS000011')).toBe('https://ecu-fhir.org/fhir/sid/receta/DFIMS000011');
    expect(systems.expedienteSystem('DFIMS000011').startsWith(systems.expedienteSystemPrefix)).toBe(true);
  });
});

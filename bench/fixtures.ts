import { curpCheckDigit } from '../src/mx/curp.ts';

/** Typical ECU payloads: a Mexican patient as a clinic registers one, and a vital sign. */
/**
 * The n-th distinct person: an active Patient's CURP is unique, so each n gets
 * its own birth date (1940–1999, encoded in characters 5–10) and
 * differentiator (character 17), with the check digit that makes it valid.
 */
function person(n: number): { curp: string; birthDate: string } {
  const day = 1 + (n % 28);
  const month = 1 + (Math.floor(n / 28) % 12);
  const year = 1940 + (Math.floor(n / 336) % 60);
  const differentiator = Math.floor(n / 20_160) % 10;
  const two = (v: number) => String(v).padStart(2, '0');
  const first17 = `VIRB${two(year % 100)}${two(month)}${two(day)}MDFGMN${differentiator}`;
  return { curp: first17 + curpCheckDigit(first17), birthDate: `${year}-${two(month)}-${two(day)}` };
}

export function mexicanPatient(n: number) {
  const { curp, birthDate } = person(n);
  return {
    resourceType: 'Patient',
    identifier: [
      { system: 'urn:oid:2.16.840.1.113883.4.629', value: curp },
      { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: 'https://ecu-fhir.org/fhir/sid/expediente/DFIST000011', value: `QUNCB${3100 + (n % 9000)}` },
    ],
    active: true,
    name: [{ use: 'official', family: 'Villa', given: ['Berta'], text: 'Berta Villa Ramírez' }],
    telecom: [{ system: 'phone', value: '+52 55 5555 0101', use: 'mobile' }],
    gender: 'female',
    birthDate,
    address: [{ use: 'home', line: ['Av. Insurgentes Sur 1000'], city: 'Ciudad de México', state: 'DF', postalCode: '03100', country: 'MX' }],
  };
}

export function weightObservation(patientId: string) {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2026-11-20T10:30:00-06:00',
    valueQuantity: { value: 71, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
}

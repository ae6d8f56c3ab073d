/** Typical ECU payloads: a Mexican patient as a clinic registers one, and a vital sign. */
export function mexicanPatient(n: number) {
  return {
    resourceType: 'Patient',
    identifier: [
      { system: 'urn:oid:2.16.840.1.113883.4.629', value: 'VIRB840210MDFGMN05' },
      { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: 'https://ecu-fhir.org/fhir/sid/expediente/DFIST000011', value: `QUNCB${3100 + (n % 9000)}` },
    ],
    active: true,
    name: [{ use: 'official', family: 'Villa', given: ['Berta'], text: 'Berta Villa Ramírez' }],
    telecom: [{ system: 'phone', value: '+52 55 5555 0101', use: 'mobile' }],
    gender: 'female',
    birthDate: '1984-02-10',
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

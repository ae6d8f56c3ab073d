/**
 * A small world with known answers, for the tests derived from
 * https://hl7.org/fhir/R4/search.html: every parameter type, modifier and
 * prefix, with boundary cases (partial dates, time zones, periods, missing
 * values, several values in one resource, contained and absolute references).
 */
import type { Fixture } from '../support/search.ts';

const loinc = 'http://loinc.org';
const ucum = 'http://unitsofmeasure.org';
const v20203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

export const fixtures: Fixture[] = [
  { resourceType: 'Practitioner', id: 'pr1', name: [{ family: 'House', given: ['Gregorio'] }] },
  {
    resourceType: 'Patient',
    id: 'p1',
    meta: { profile: ['http://example.org/p'] },
    active: true,
    name: [{ family: 'Núñez', given: ['José'] }],
    gender: 'male',
    birthDate: '1980-05-02',
    identifier: [{ system: 'urn:curp', value: 'ABC123', type: { coding: [{ system: v20203, code: 'MR' }] } }],
    telecom: [{ system: 'phone', value: '555-1234' }],
    address: [{ city: 'Ciudad de México' }],
    generalPractitioner: [{ reference: 'Practitioner/pr1' }],
  },
  {
    resourceType: 'Patient',
    id: 'p2',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
    name: [{ family: 'López', given: ['María'] }],
    gender: 'female',
    birthDate: '1980',
    identifier: [{ system: 'urn:curp', value: 'XYZ789' }, { system: 'urn:other', value: 'ABC123' }],
  },
  { resourceType: 'Patient', id: 'p3', name: [{ family: 'Pérez', given: ['Anajose'] }], birthDate: '1979-12-31' },
  { resourceType: 'Patient', id: 'p4', name: [{ text: 'JOSE perez', family: 'Pérez', given: ['Jose'] }], gender: 'other' },
  {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    code: { coding: [{ system: loinc, code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2020-01-15T10:00:00-06:00',
    valueQuantity: { value: 72, unit: '/min', system: ucum, code: '/min' },
    component: [
      { code: { coding: [{ system: loinc, code: '8480-6' }] }, valueQuantity: { value: 120, unit: 'mmHg', system: ucum, code: 'mm[Hg]' } },
      { code: { coding: [{ system: loinc, code: '8462-4' }] }, valueQuantity: { value: 80, unit: 'mmHg', system: ucum, code: 'mm[Hg]' } },
    ],
  },
  {
    resourceType: 'Observation',
    id: 'o2',
    status: 'amended',
    code: { coding: [{ system: loinc, code: '8867-4' }] },
    subject: { reference: 'Patient/p2' },
    effectivePeriod: { start: '2019-12-31T22:00:00Z', end: '2020-01-01T02:00:00Z' },
    valueQuantity: { value: 100.4, unit: '/min', system: ucum, code: '/min' },
    // Systolic 85 and diastolic 130: "a systolic above 100" must not match by mixing components.
    component: [
      { code: { coding: [{ system: loinc, code: '8480-6' }] }, valueQuantity: { value: 85, system: ucum, code: 'mm[Hg]' } },
      { code: { coding: [{ system: loinc, code: '8462-4' }] }, valueQuantity: { value: 130, system: ucum, code: 'mm[Hg]' } },
    ],
  },
  {
    resourceType: 'Observation',
    id: 'o3',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: loinc, code: '29463-7' }] },
    subject: { reference: 'Patient/p1', identifier: { system: 'urn:curp', value: 'ABC123' } },
    effectiveDateTime: '2021',
    valueQuantity: { value: 71, unit: 'kg', system: ucum, code: 'kg' },
  },
  {
    resourceType: 'Observation',
    id: 'o4',
    status: 'preliminary',
    contained: [{ resourceType: 'Patient', id: 'cp', name: [{ family: 'Contenido' }] }],
    code: { text: 'Presión arterial' },
    performer: [{ reference: '#cp' }],
  },
  { resourceType: 'Observation', id: 'o5', status: 'final', code: { text: 'x' }, subject: { reference: 'http://other.example/fhir/Patient/p9' } },
  // Still open: its period has no end, so it reaches every later date (stored as +infinity).
  { resourceType: 'Encounter', id: 'e1', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: { reference: 'Patient/p1' }, period: { start: '2024-03-01' } },
  { resourceType: 'RiskAssessment', id: 'r1', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [{ probabilityDecimal: 50 }] },
  { resourceType: 'RiskAssessment', id: 'r2', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [{ probabilityDecimal: 49.5 }] },
  { resourceType: 'RiskAssessment', id: 'r3', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [{ probabilityDecimal: 50.5 }] },
  { resourceType: 'RiskAssessment', id: 'r4', status: 'final', subject: { reference: 'Patient/p2' }, prediction: [{ probabilityDecimal: 0.8 }, { probabilityDecimal: 40 }] },
  { resourceType: 'ValueSet', id: 'vs1', status: 'active', url: 'http://acme.org/fhir/ValueSet/123' },
  { resourceType: 'ValueSet', id: 'vs2', status: 'active', url: 'http://acme.org/fhir/ValueSet/123/extra' },
  { resourceType: 'ValueSet', id: 'vs3', status: 'active', url: 'http://acme.org/other' },
];

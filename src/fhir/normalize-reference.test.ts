import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { isFhirError } from './errors.ts';
import { normalizeContentReferences, normalizeReference, normalizeResourceReferences, ownBaseUrls, parseLocalReference } from './normalize-reference.ts';

const bases = ownBaseUrls({ publicBaseUrl: 'https://ecu.example.mx/fhir/', allowedHosts: ['interno.ecu.local:8080'], basePath: '/fhir', requestBaseUrl: 'http://localhost:80/fhir' });

describe('normalizeReference', () => {
  test('own bases: FHIR_BASE_URL, each allowed host (either scheme), the request base', () => {
    expect(bases).toEqual(['https://ecu.example.mx/fhir', 'http://interno.ecu.local:8080/fhir', 'http://localhost:80/fhir']);
  });

  test.each([
    ['https://ecu.example.mx/fhir/MedicationRequest/abc', 'MedicationRequest/abc'],
    ['http://ECU.example.mx/fhir/MedicationRequest/abc', 'MedicationRequest/abc'],
    ['https://ecu.example.mx:443/fhir/Patient/p-1/_history/3', 'Patient/p-1/_history/3'],
    ['https://interno.ecu.local:8080/fhir/Patient/p-1', 'Patient/p-1'],
    ['http://localhost/fhir/Patient/p-1', 'Patient/p-1'],
  ])('an absolute URL under an own base becomes relative: %s', (reference, stored) => {
    expect(normalizeReference(reference, bases)).toEqual({ value: stored });
  });

  test.each([
    'MedicationRequest/abc',
    'MedicationRequest/abc/_history/2',
    '#med1',
    'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0',
    'Patient?identifier=urn:oid:2.16.840.1.113883.4.629|VIRB840210MDFRRR09',
    'https://otro.example.org/fhir/MedicationRequest/abc/',
    'http://ecu.example.mx/otra/MedicationRequest/abc',
    'https://ecu.example.mx:8443/fhir/MedicationRequest/abc',
  ])('kept as sent: %s', (reference) => {
    expect(normalizeReference(reference, bases)).toEqual({ value: reference });
  });

  test.each([
    ' MedicationRequest/abc',
    'MedicationRequest/abc\n',
    './MedicationRequest/abc',
    '../MedicationRequest/abc',
    '/MedicationRequest/abc',
    '/fhir/MedicationRequest/abc',
    'MedicationRequest/abc/',
    'MedicationRequest/abc?x=1',
    'MedicationRequest/abc#x',
    'MedicationRequest/abc/extra',
    'MedicationRequest/ abc',
    'https://ecu.example.mx/fhir/MedicationRequest/abc/',
    'https://ecu.example.mx/fhir/MedicationRequest/abc?x=1',
    'https://ecu.example.mx/fhir/./MedicationRequest/abc',
    'https://ecu.example.mx/fhir/MedicationRequest/../Patient/abc',
  ])('refused: %j', (reference) => {
    const verdict = normalizeReference(reference, bases);
    expect(verdict.refused?.es).toMatch(/^Referencia .* inválida: .*Tipo\/id/);
    expect(verdict.refused?.en).toMatch(/^Invalid reference .*Type\/id/);
  });

  test('parseLocalReference reads only the stored form', () => {
    expect(parseLocalReference('MedicationRequest/abc/_history/2')).toEqual({ type: 'MedicationRequest', id: 'abc', version: '2' });
    expect(parseLocalReference('MedicationRequest/abc')).toEqual({ type: 'MedicationRequest', id: 'abc' });
    expect(parseLocalReference('MedicationRequest/abc/')).toBeUndefined();
    expect(parseLocalReference('https://ecu.example.mx/fhir/MedicationRequest/abc')).toBeUndefined();
  });
});

describe('normalizeContentReferences', () => {
  test('rewrites only the references that change, leaving the rest of the text as it came', () => {
    const content = '{"resourceType":"MedicationDispense","quantity":{"value":1.50},"authorizingPrescription":[{"reference":"https://ecu.example.mx/fhir/MedicationRequest/abc"},{"reference":"MedicationRequest/def"}]}';
    expect(normalizeContentReferences('MedicationDispense', content, bases)).toBe(
      '{"resourceType":"MedicationDispense","quantity":{"value":1.50},"authorizingPrescription":[{"reference":"MedicationRequest/abc"},{"reference":"MedicationRequest/def"}]}',
    );
  });

  test('a refused reference is a 400 naming each element where it is', () => {
    const content = JSON.stringify({ resourceType: 'MedicationDispense', subject: { reference: 'Patient/p' }, authorizingPrescription: [{ reference: 'MedicationRequest/a' }, { reference: 'MedicationRequest/b?x=1' }] });
    try {
      normalizeContentReferences('MedicationDispense', content, bases);
      expect.unreachable();
    } catch (err) {
      expect(isFhirError(err) && err.status).toBe(400);
      expect(isFhirError(err) && err.outcome.issue?.[0]?.expression).toEqual(['MedicationDispense.authorizingPrescription[1].reference']);
    }
  });

  test('escaped characters are read as JSON reads them', () => {
    const content = JSON.stringify({ resourceType: 'Observation', subject: { reference: 'Patient/p\t' } });
    expect(() => normalizeContentReferences('Observation', content, bases)).toThrow(/espacios/);
  });

  test('a stored Bundle (document, collection) keeps its references as sent', () => {
    const content = JSON.stringify({ resourceType: 'Bundle', type: 'document', entry: [{ resource: { resourceType: 'Composition', subject: { reference: 'https://ecu.example.mx/fhir/Patient/p' } } }] });
    expect(normalizeContentReferences('Bundle', content, bases)).toBe(content);
  });

  test('no reference in the HL7 R4 examples or Synthea fixtures is refused or changed (bases of this server only)', () => {
    const fixtures = path.resolve(import.meta.dirname, '../../test/fixtures');
    const resources: Resource[] = [];
    const add = (r: Resource | undefined) => {
      if (!r) return;
      if (r.resourceType === 'Bundle') for (const e of (r as Bundle).entry ?? []) add(e.resource);
      else resources.push(r);
    };
    for (const dir of ['r4-examples', 'synthea']) {
      for (const file of readdirSync(path.join(fixtures, dir)).filter((f) => f.endsWith('.json'))) add(JSON.parse(readFileSync(path.join(fixtures, dir, file), 'utf8')) as Resource);
    }
    expect(resources.length).toBeGreaterThan(1000);
    for (const r of resources) {
      const content = JSON.stringify(r);
      expect(normalizeContentReferences(r.resourceType, content, bases), `${r.resourceType}/${r.id ?? ''}`).toBe(content);
    }
  });
});

describe('normalizeResourceReferences', () => {
  test('rewrites in place, contained resources included; refuses naming every element', () => {
    const r = { resourceType: 'MedicationRequest', contained: [{ resourceType: 'Medication', id: 'm', manufacturer: { reference: 'https://ecu.example.mx/fhir/Organization/o' } }], requester: { reference: 'http://interno.ecu.local:8080/fhir/Practitioner/p' }, medicationReference: { reference: '#m' } };
    normalizeResourceReferences(r, bases);
    expect(r.requester.reference).toBe('Practitioner/p');
    expect(r.contained[0]?.manufacturer.reference).toBe('Organization/o');
    expect(r.medicationReference.reference).toBe('#m');
    try {
      const dispense = { resourceType: 'MedicationDispense', subject: { reference: '/Patient/p' }, performer: [{ actor: { reference: 'Practitioner/x/' } }] };
      normalizeResourceReferences(dispense, bases);
      expect.unreachable();
    } catch (err) {
      expect(isFhirError(err) && err.outcome.issue?.[0]?.expression).toEqual(['MedicationDispense.subject.reference', 'MedicationDispense.performer[0].actor.reference']);
    }
  });
});

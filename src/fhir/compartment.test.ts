import type { Observation } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { patientIdOf, patientsOf } from './compartment.ts';

describe('patient compartment', () => {
  test('a patient is in its own compartment and in those it links to', () => {
    expect([...patientsOf({ resourceType: 'Patient', id: 'a', link: [{ type: 'seealso', other: { reference: 'Patient/b' } }] })].sort()).toEqual(['a', 'b']);
  });

  test('an observation belongs to its subject and to a patient performer', () => {
    const obs: Observation = { resourceType: 'Observation', status: 'final', code: {}, subject: { reference: 'Patient/1' }, performer: [{ reference: 'Patient/2' }, { reference: 'Practitioner/3' }] };
    expect([...patientsOf(obs)].sort()).toEqual(['1', '2']);
  });

  test('resources outside the compartment belong to nobody', () => {
    expect(patientsOf({ resourceType: 'Organization', name: 'IMSS' }).size).toBe(0);
    expect(patientsOf({ resourceType: 'Observation', status: 'final', code: {}, subject: { reference: 'Group/1' } }).size).toBe(0);
  });

  test('references may be absolute or versioned', () => {
    expect(patientIdOf('https://ecu.example/fhir/Patient/x-1/_history/3')).toBe('x-1');
    expect(patientIdOf('Patient/x')).toBe('x');
    expect(patientIdOf('Practitioner/x')).toBeUndefined();
    expect(patientIdOf('urn:uuid:1')).toBeUndefined();
  });
});

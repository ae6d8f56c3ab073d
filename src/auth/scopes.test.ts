import { describe, expect, test } from 'vitest';
import { allows, intersectScopes, onlyPatientScoped, parseScopes } from './scopes.ts';

describe('parseScopes', () => {
  test('SMART v2 letters', () => {
    const scopes = parseScopes('patient/Observation.rs openid fhirUser launch/patient');
    expect(scopes).toHaveLength(1);
    expect(allows(scopes, 'Observation', 'r')).toBe(true);
    expect(allows(scopes, 'Observation', 's')).toBe(true);
    expect(allows(scopes, 'Observation', 'c')).toBe(false);
    expect(allows(scopes, 'Patient', 'r')).toBe(false);
  });

  test('wildcards and v1 read/write/*', () => {
    expect(allows(parseScopes('user/*.cruds'), 'Condition', 'd')).toBe(true);
    expect(allows(parseScopes('user/*.read'), 'Condition', 's')).toBe(true);
    expect(allows(parseScopes('user/*.read'), 'Condition', 'u')).toBe(false);
    expect(allows(parseScopes('system/Patient.write'), 'Patient', 'c')).toBe(true);
    expect(allows(parseScopes('system/Patient.write'), 'Patient', 'r')).toBe(false);
    expect(allows(parseScopes('user/Patient.*'), 'Patient', 'r')).toBe(true);
  });

  test('malformed scopes and v2 letters out of order grant nothing', () => {
    expect(parseScopes('user/*.sr user/Patient. patient/*.xyz foo/Patient.rs Patient.rs')).toEqual([]);
  });

  test('scopes with query narrowing are dropped rather than widened', () => {
    expect(parseScopes('patient/Observation.rs?category=laboratory')).toEqual([]);
  });

  test('access is patient-limited only when every granting scope is a patient scope', () => {
    expect(onlyPatientScoped(parseScopes('patient/*.rs'), 'Observation', 'r')).toBe(true);
    expect(onlyPatientScoped(parseScopes('patient/*.rs user/Observation.rs'), 'Observation', 'r')).toBe(false);
    expect(onlyPatientScoped(parseScopes('patient/*.rs user/Observation.rs'), 'Condition', 'r')).toBe(true);
  });
});

describe('a role bounds the scopes of its tokens', () => {
  const show = (given: string, bound: string) =>
    intersectScopes(parseScopes(given), parseScopes(bound)).map((s) => `${s.context}/${s.resourceType}.${[...s.permissions].join('')}`);

  test('the narrower context, type and permissions of each pair', () => {
    expect(show('system/*.cruds', 'patient/*.rs')).toEqual(['patient/*.rs']);
    expect(show('user/Observation.cruds', 'patient/*.rs')).toEqual(['patient/Observation.rs']);
    expect(show('user/*.cruds', 'user/MedicationRequest.rs user/MedicationDispense.cruds')).toEqual(['user/MedicationRequest.rs', 'user/MedicationDispense.cruds']);
    expect(show('patient/Condition.r', 'system/*.rs')).toEqual(['patient/Condition.r']);
  });

  test('nothing in common gives nothing', () => {
    expect(show('user/Condition.cud', 'user/*.rs')).toEqual([]);
    expect(show('user/Condition.rs', 'user/Observation.rs')).toEqual([]);
  });
});

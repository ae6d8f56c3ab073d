import { describe, expect, test } from 'vitest';
import { valueSetCodes } from './value-sets.ts';

describe('valueSetCodes', () => {
  test('expands a value set that includes a whole FHIR code system', () => {
    expect([...(valueSetCodes('http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1') ?? [])].sort()).toEqual(['female', 'male', 'other', 'unknown']);
  });

  test('expands nested concepts of hierarchical code systems', () => {
    // observation-status has no hierarchy, but request-status and v3 act codes do; "entered-in-error" must be there.
    expect(valueSetCodes('http://hl7.org/fhir/ValueSet/observation-status')?.has('entered-in-error')).toBe(true);
  });

  test('value sets that cannot be expanded exactly are unknown, not empty', () => {
    expect(valueSetCodes('http://hl7.org/fhir/ValueSet/all-languages')).toBeUndefined();
    expect(valueSetCodes('http://example.org/no-such-value-set')).toBeUndefined();
  });
});

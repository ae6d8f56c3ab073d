import { describe, expect, test } from 'vitest';
import { loadDefinitions } from '../fhir/definitions.ts';
import { checkElementRules, isBase64Binary } from './element-rules.ts';

loadDefinitions();
const where = (r: { resourceType: string }) => checkElementRules(r).map((i) => i.expression?.[0]);

describe('element rules', () => {
  test('base64Binary per the R4 regex: whitespace between groups, padding only at the end', () => {
    expect(isBase64Binary('aGVs bG8=')).toBe(true);
    expect(isBase64Binary('aGVs\r\nbG8g\td29y')).toBe(true);
    expect(isBase64Binary('aGVsbG8')).toBe(false);
    expect(isBase64Binary('aG=sbG8=')).toBe(false);
    expect(isBase64Binary('   ')).toBe(false);
  });

  test('ele-1 everywhere: primitives extensions, contained resources, backbone elements', () => {
    expect(where({ resourceType: 'Patient', _birthDate: {}, contained: [{ resourceType: 'Organization', alias: [] }], contact: [{ telecom: [{ value: '' }] }] } as never)).toEqual([
      'Patient._birthDate',
      'Patient.contained[0].alias',
      'Patient.contact[0].telecom[0].value',
    ]);
    // `null` stands for a repetition without extensions in `_given`.
    expect(where({ resourceType: 'Patient', name: [{ given: ['a', 'b'], _given: [null, { extension: [{ url: 'http://x', valueString: 'y' }] }] }] } as never)).toEqual([]);
  });

  test('type invariants are judged as false only: an empty result means the rule does not apply', () => {
    expect(where({ resourceType: 'Observation', subject: { display: 'solo texto' } } as never)).toEqual([]);
    expect(where({ resourceType: 'Observation', effectivePeriod: { start: '2024-01-02', end: '2024-01-01' } } as never)).toEqual(['Observation.effectivePeriod']);
    expect(where({ resourceType: 'Observation', valueQuantity: { value: 1, code: 'mg' } } as never)).toEqual(['Observation.valueQuantity']);
  });
});

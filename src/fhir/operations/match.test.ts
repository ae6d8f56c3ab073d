import type { Patient } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { scoreMatch } from './match.ts';

const curp = (value: string): Patient['identifier'] => [{ system: 'urn:oid:2.16.840.1.113883.4.629', value }];
const base: Patient = { resourceType: 'Patient', name: [{ family: 'Hernández López', given: ['José', 'Luis'] }], gender: 'male', birthDate: '1984-02-10' };

describe('scoreMatch', () => {
  test('CURP decides when both have one', () => {
    expect(scoreMatch({ ...base, identifier: curp('HELJ840210HDFRPS09') }, { resourceType: 'Patient', identifier: curp('helj840210hdfrps09') })).toEqual({ grade: 'certain', score: 1 });
    expect(scoreMatch({ ...base, identifier: curp('HELJ840210HDFRPS09') }, { ...base, identifier: curp('HELJ840210HDFRPS10') }).grade).toBe('certainly-not');
  });

  test('demographics: accents and case ignored, never above 0.99; partial surnames and a one-part date typo give partial credit', () => {
    expect(scoreMatch(base, { ...base, name: [{ family: 'HERNANDEZ LOPEZ', given: ['jose', 'luis'] }] })).toEqual({ grade: 'probable', score: 0.99 });
    expect(scoreMatch({ ...base, name: [{ family: 'Hernandez', given: ['Jose', 'Luis'] }] }, base).grade).toBe('probable');
    expect(scoreMatch(base, { ...base, birthDate: '1984-02-11' })).toEqual({ grade: 'probable', score: 0.85 });
    expect(scoreMatch(base, { ...base, gender: 'female', birthDate: '1990-07-01' }).grade).toBe('certainly-not');
  });
});

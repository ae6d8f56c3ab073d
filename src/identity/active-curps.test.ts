import { describe, expect, test } from 'vitest';
import { curpSystem } from '../mx/systems.ts';
import { activeCurps } from './active-curps.ts';

describe('activeCurps', () => {
  test('the CURP identifiers of an active (or unstated) record, upper case, once each', () => {
    expect(activeCurps({ resourceType: 'Patient', identifier: [{ system: curpSystem, value: ' pexj800101hdfrrn09 ' }, { system: curpSystem, value: 'PEXJ800101HDFRRN09' }, { system: 'urn:x', value: 'A' }] })).toEqual(['PEXJ800101HDFRRN09']);
  });

  test('an inactive record holds none', () => {
    expect(activeCurps({ resourceType: 'Patient', active: false, identifier: [{ system: curpSystem, value: 'PEXJ800101HDFRRN09' }] })).toEqual([]);
    expect(activeCurps(undefined)).toEqual([]);
  });
});

import { expect, test } from 'vitest';
import { parseRequest } from '../fhir/search.ts';
import { mayMatch, requiredCodes } from './criteria-prefilter.ts';

const req = (q: Record<string, string>) => parseRequest('Observation', q, 'handling=strict');
const obs = (code: string) => JSON.stringify({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:x', code }] } });

test('plain token filters give codes the content must contain; an OR list needs one of them, AND lists each', () => {
  const r = requiredCodes(req({ code: 'urn:x|s5,urn:x|s6', status: 'final' }));
  expect(r).toEqual([['s5', 's6'], ['final']]);
  expect(mayMatch(r, obs('s6'))).toBe(true);
  expect(mayMatch(r, obs('a'))).toBe(false);
  expect(mayMatch(r, obs('s6').replace('final', 'amended'))).toBe(false);
});

test('what the content may not show verbatim excludes nothing: modifiers, system-only, numbers, escapes, other parameter types', () => {
  const queries: Record<string, string>[] = [{ 'code:not': 'urn:x|s5' }, { code: 'urn:x|' }, { code: '12' }, { code: 'a"b' }, { code: 'café' }, { subject: 'Patient/1' }, { date: 'ge2020' }];
  for (const q of queries) {
    expect(requiredCodes(req(q)), JSON.stringify(q)).toEqual([]);
  }
  expect(mayMatch([], obs('anything'))).toBe(true);
});

import { expect, test } from 'vitest';
import { parseRequest } from '../fhir/search.ts';
import { requiredCodes } from './criteria-prefilter.ts';

const req = (q: Record<string, string>) => parseRequest('Observation', q, 'handling=strict');

test('plain token filters give codes the content must contain (criteria-index.test.ts): an OR list needs one of them, AND lists each', () => {
  expect(requiredCodes(req({ code: 'urn:x|s5,urn:x|s6', status: 'final' }))).toEqual([['s5', 's6'], ['final']]);
});

test('what the content may not show verbatim excludes nothing: modifiers, system-only, numbers, escapes, other parameter types', () => {
  const queries: Record<string, string>[] = [{ 'code:not': 'urn:x|s5' }, { code: 'urn:x|' }, { code: '12' }, { code: 'a"b' }, { code: 'café' }, { subject: 'Patient/1' }, { date: 'ge2020' }];
  for (const q of queries) {
    expect(requiredCodes(req(q)), JSON.stringify(q)).toEqual([]);
  }
});

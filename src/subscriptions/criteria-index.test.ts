import type { Resource } from '@medplum/fhirtypes';
import { expect, test } from 'vitest';
import { corpusResources } from '../../test/support/corpus.ts';
import { parseRequest } from '../fhir/search.ts';
import { stringifyJson } from '../json/lossless.ts';
import { extractIndexValues } from '../search/extract-index-values.ts';
import { CriteriaIndex, forEachString } from './criteria-index.ts';
import { requiredCodes } from './criteria-prefilter.ts';

const required = (type: string, q: Record<string, string>) => requiredCodes(parseRequest(type, q, 'handling=strict'));
const obs = (code: string, status = 'final') => JSON.stringify({ resourceType: 'Observation', status, code: { coding: [{ system: 'urn:x', code }] } });

test('forEachString gives every JSON string, keys included, escaped quotes and backslashes kept inside', () => {
  const seen: string[] = [];
  forEachString(JSON.stringify({ a: 'x"y', 'b\\': ['c\\', 'd'], n: 1, t: true }), (s) => seen.push(s));
  expect(seen).toEqual(['a', 'x\\"y', 'b\\\\', 'c\\\\', 'd', 'n', 't']);
  forEachString('{"unterminated', (s) => seen.push(`!${s}`));
  expect(seen).not.toContain('!unterminated');
});

test('a version is a candidate of the criteria whose every filter has one of its codes among its strings', () => {
  const index = new CriteriaIndex<string>();
  index.add('Observation', 'or+and', required('Observation', { code: 'urn:x|s5,urn:x|s6', status: 'final' }));
  index.add('Observation', 's1', required('Observation', { code: 'urn:x|s1' }));
  index.add('Observation', 'any', required('Observation', { 'code:not': 'urn:x|s5' }));
  index.add('Patient', 'gender', required('Patient', { gender: 'female' }));
  expect(index.candidates('Observation', obs('s6'))).toEqual(['any', 'or+and']);
  expect(index.candidates('Observation', obs('s6', 'amended'))).toEqual(['any']);
  // A substring is not the code: s1 is not in s10.
  expect(index.candidates('Observation', obs('s10'))).toEqual(['any']);
  expect(index.candidates('Observation', obs('s1'))).toEqual(['any', 's1']);
  expect(index.candidates('Encounter', obs('s1'))).toEqual([]);
  expect(index.watches('Patient') && !index.watches('Encounter')).toBe(true);
});

test('booleans exclude nothing (their code is not a JSON string, and may be computed: Patient.deceased)', () => {
  const patient = { resourceType: 'Patient', id: 'p', deceasedDateTime: '2020-01-01' } as Resource;
  // The index holds deceased=true although the content has no true at all.
  expect(extractIndexValues(patient).sp_token).toContainEqual(expect.objectContaining({ param: 'deceased', code: 'true' }));
  expect(JSON.stringify(patient)).not.toContain('true');
  expect(required('Patient', { deceased: 'true' })).toEqual([]);
  expect(required('Patient', { active: 'false' })).toEqual([]);
  const index = new CriteriaIndex<string>();
  index.add('Patient', 'deceased', required('Patient', { deceased: 'true' }));
  expect(index.candidates('Patient', JSON.stringify(patient))).toEqual(['deceased']);
});

/**
 * The rule the index rests on, on real data: every code a plain token filter
 * could ask for (requiredCodes' kind) that the search index holds for a
 * version is one of its stored content's strings.
 */
test('every usable token code of the index is a string of the stored content (HL7 examples, both Synthea corpora, MX)', () => {
  const resources: Resource[] = [...corpusResources('r4-examples'), ...corpusResources('synthea'), ...corpusResources('mx'), ...corpusResources('synthea-corpus')];
  expect(resources.length).toBeGreaterThan(1000);
  let checked = 0;
  for (const resource of resources) {
    const content = stringifyJson(resource);
    const strings = new Set<string>();
    forEachString(content, (s) => strings.add(s));
    for (const row of extractIndexValues(resource).sp_token) {
      // Modifier rows (:of-type, :identifier), composite components, and codes a search value would have to escape aside.
      if (row.code === null || /[:$]/.test(row.param) || /[,|$\\]/.test(row.code)) continue;
      const usable = required(resource.resourceType, { [row.param]: `${row.system ?? ''}|${row.code}` }).flat();
      if (!usable.includes(row.code)) continue;
      checked++;
      expect(strings.has(row.code), `${resource.resourceType}/${resource.id} ${row.param}=${row.code}`).toBe(true);
    }
  }
  expect(checked).toBeGreaterThan(50_000);
}, 120_000);

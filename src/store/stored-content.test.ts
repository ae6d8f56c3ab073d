import { expect, test } from 'vitest';
import type { Observation } from '@medplum/fhirtypes';
import { parseJson } from '../json/lossless.ts';
import { stamp } from '../fhir/versioning.ts';
import { setStoredContent, storedResource } from './stored-content.ts';

const observation = () => parseJson('{"resourceType":"Observation","status":"final","code":{"text":"peso"},"valueQuantity":{"value":70.50,"unit":"kg"}}') as Observation;

test('the parsed content is the stamped object while the content is that text, and parsed afresh once it changes', () => {
  const stored = stamp(observation(), 'o1', 1, new Date('2026-12-01T00:00:00Z'));
  const first = storedResource<Observation>(stored)!;
  expect(storedResource(stored)).toBe(first);
  expect(first.meta?.versionId).toBe('1');
  // Someone rewrote the text (reference normalisation does): the next reader sees what the text now says.
  stored.content = stored.content!.replace('"peso"', '"masa"');
  const second = storedResource<Observation>(stored)!;
  expect(second).not.toBe(first);
  expect(second.code.text).toBe('masa');
});

test('an edit handed back is serialised losslessly and becomes the parsed form', () => {
  const stored = stamp(observation(), 'o2', 1, new Date('2026-12-01T00:00:00Z'));
  expect(stored.content).toContain('"value":70.50');
  const resource = storedResource<Observation>(stored)!;
  resource.meta = { ...resource.meta, tag: [{ code: 'x' }] };
  setStoredContent(stored, resource);
  expect(stored.content).toContain('"tag":[{"code":"x"}]');
  expect(stored.content).toContain('"value":70.50');
  expect(storedResource(stored)).toBe(resource);
  expect(parseJson(stored.content!)).toEqual(resource);
});

test('a deletion has no parsed content', () => {
  expect(storedResource({ resourceType: 'Observation', id: 'o3', versionId: 2, lastUpdated: new Date(), deleted: true, content: null, patients: [] })).toBeUndefined();
});

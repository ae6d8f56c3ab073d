/**
 * MolecularSequence could not be written (500, `Undefined variable %resource`
 * while extracting its composite search parameters); now it is written and
 * found by them. The official examples (official-examples.test.ts) cover all 17.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';

const t = useTestApp();
const example = createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/MolecularSequence-example.json');

test('MolecularSequence-example is written and found by referenceseqid-variant-coordinate', async () => {
  const tag = uniqueTag();
  const sequence = { ...JSON.parse(readFileSync(example, 'utf8')), id: undefined, meta: { tag: [{ system: 'urn:test', code: tag }] } };
  const res = await t.request({ method: 'POST', url: '/fhir/MolecularSequence', headers: fhirJson, payload: sequence });
  expect(res.statusCode, res.body).toBe(201);
  const hit = await t.request({ method: 'GET', url: `/fhir/MolecularSequence?_tag=urn:test|${tag}&referenceseqid-variant-coordinate=NC_000009.11$ge22125503$le22125504` });
  expect(hit.statusCode, hit.body).toBe(200);
  expect(hit.json().entry).toHaveLength(1);
  const miss = await t.request({ method: 'GET', url: `/fhir/MolecularSequence?_tag=urn:test|${tag}&referenceseqid-variant-coordinate=NC_000009.11$gt22125503$le22125504` });
  expect(miss.json().entry ?? []).toHaveLength(0);
});

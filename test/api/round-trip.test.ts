/**
 * The official HL7 R4 examples (test/fixtures/r4-examples, from the npm
 * package hl7.fhir.r4.examples@4.0.1) survive create-then-read unchanged
 * apart from id and meta.versionId/lastUpdated.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { fhirJson, useTestApp } from '../support/app.ts';

const t = useTestApp();
const dir = path.resolve(import.meta.dirname, '../fixtures/r4-examples');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

// What the server writes into meta on every write: who wrote the version, and the authoring unit.
const serverExtensions = new Set(['https://ecu-fhir.org/fhir/StructureDefinition/mx-registrado-por', 'https://ecu-fhir.org/fhir/StructureDefinition/mx-unidad-autora']);

function withoutServerFields(resource: Record<string, any>): Record<string, any> {
  const { id: _id, meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, extension, ...keptMeta } = meta ?? {};
  const clientExtensions = (extension ?? []).filter((e: { url: string }) => !serverExtensions.has(e.url));
  if (clientExtensions.length > 0) keptMeta.extension = clientExtensions;
  return Object.keys(keptMeta).length > 0 ? { ...rest, meta: keptMeta } : rest;
}

describe('HL7 R4 examples round-trip', () => {
  test('there are examples to try', () => {
    expect(files.length).toBeGreaterThan(100);
  });

  test.each(files)('%s', async (file) => {
    const original = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    const created = await t.request({ method: 'POST', url: `/fhir/${original.resourceType}`, headers: fhirJson, payload: original });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    const read = await t.request({ method: 'GET', url: `/fhir/${original.resourceType}/${id}` });
    expect(read.statusCode).toBe(200);
    expect(withoutServerFields(read.json())).toEqual(withoutServerFields(original));
    // Updating with the same content under the client's id also round-trips.
    const put = await t.request({ method: 'PUT', url: `/fhir/${original.resourceType}/${id}`, headers: fhirJson, payload: { ...original, id } });
    expect(put.statusCode, put.body).toBe(200);
    expect(withoutServerFields(put.json())).toEqual(withoutServerFields(original));
  });
});

/**
 * SQL injection through every parameter type, modifier, chain, sort, include
 * and cursor: values only ever travel as bound parameters and identifiers come
 * from whitelists, so each attempt is either a harmless literal (no match) or
 * a 400, and the tables are intact afterwards.
 */
import { expect, test } from 'vitest';
import { fhirJson, useTestApp } from '../support/app.ts';

const t = useTestApp();
const payloads = [`' OR '1'='1`, `'; DROP TABLE resource; --`, `x') OR 1=1 --`, `\\' OR 1=1 --`, `1; SELECT pg_sleep(5)`, `"; DELETE FROM sp_token; --`, `%' OR ''='`, `$1`, `$$`];
const params = [
  'name', 'name:exact', 'name:contains', 'identifier', 'identifier:of-type', 'gender:not', 'gender:text', 'birthdate', 'general-practitioner', 'general-practitioner:Practitioner',
  'general-practitioner:identifier', 'general-practitioner.name', '_has:Observation:subject:code', '_id', '_lastUpdated', '_tag', '_profile', '_security',
];

test.each(params)('parameter %s', async (param) => {
  for (const p of payloads) {
    const res = await t.request({ method: 'GET', url: `/fhir/Patient?${param}=${encodeURIComponent(p)}` });
    expect([200, 400], `${param}=${p}: ${res.body}`).toContain(res.statusCode);
    // :not of a value nobody has matches everyone; anything else matches no one.
    if (res.statusCode === 200 && !param.endsWith(':not')) expect(res.json().total, `${param}=${p}`).toBe(0);
  }
  // The tables are still there and answer (other test files write concurrently, so no exact counts here).
  expect((await t.request({ method: 'GET', url: '/fhir/Patient?_summary=count' })).statusCode).toBe(200);
  expect((await t.request({ method: 'GET', url: '/fhir/Patient?name=a&_summary=count' })).statusCode).toBe(200);
});

test.each([
  ['Observation', 'value-quantity'], ['Observation', 'component-code-value-quantity'], ['RiskAssessment', 'probability'], ['ValueSet', 'url:below'], ['ValueSet', 'url:above'], ['Observation', 'subject'],
])('%s?%s', async (type, param) => {
  for (const p of payloads) {
    const res = await t.request({ method: 'GET', url: `/fhir/${type}?${param}=${encodeURIComponent(p)}` });
    expect([200, 400], `${param}=${p}: ${res.body}`).toContain(res.statusCode);
    if (res.statusCode === 200) expect(res.json().total).toBe(0);
  }
});

test('names of parameters, sort keys, includes, _type and cursors never reach SQL text', async () => {
  for (const p of payloads) {
    const e = encodeURIComponent(p);
    for (const url of [`/fhir/Patient?${e}=1`, `/fhir/Patient?_sort=${e}`, `/fhir/Patient?_include=${e}`, `/fhir/Patient?_revinclude=Observation:${e}`, `/fhir?_type=${e}`, `/fhir/Patient?_cursor=${e}`, `/fhir/Patient?name:${e}=x`, `/fhir/Patient?_elements=${e}`]) {
      const res = await t.request({ method: 'GET', url });
      expect([200, 400], `${url}: ${res.body}`).toContain(res.statusCode);
    }
  }
  // A stored value that looks like SQL is found literally, and only by itself.
  const evil = `Robert'); DROP TABLE resource;--`;
  const created = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: evil }] } });
  const found = await t.request({ method: 'GET', url: `/fhir/Patient?family:exact=${encodeURIComponent(evil)}` });
  expect(found.json().entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([created.json().id]);
});

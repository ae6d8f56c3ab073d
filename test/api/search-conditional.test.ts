/** Conditional interactions on top of search: https://hl7.org/fhir/R4/http.html#cond-update and neighbours. */
import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';

const t = useTestApp();

function patient(tag: string, curp: string, extra: Record<string, unknown> = {}) {
  return { resourceType: 'Patient', meta: { tag: [{ system: 'urn:test', code: tag }] }, identifier: [{ system: 'urn:curp', value: curp }], name: [{ family: 'Cond' }], ...extra };
}

async function count(tag: string, query = ''): Promise<number> {
  return (await t.request({ method: 'GET', url: `/fhir/Patient?_tag=urn:test|${tag}${query}` })).json().total;
}

describe('conditional create (If-None-Exist)', () => {
  test('creates when nothing matches, answers 200 with the existing one when one does, 412 when several', async () => {
    const tag = uniqueTag();
    const headers = { ...fhirJson, 'if-none-exist': `identifier=urn:curp|${tag}` };
    const first = await t.request({ method: 'POST', url: '/fhir/Patient', headers, payload: patient(tag, tag) });
    expect(first.statusCode).toBe(201);
    const again = await t.request({ method: 'POST', url: '/fhir/Patient', headers, payload: patient(tag, tag) });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: patient(tag, tag) });
    const many = await t.request({ method: 'POST', url: '/fhir/Patient', headers, payload: patient(tag, tag) });
    expect(many.statusCode).toBe(412);
  });

  test('concurrent conditional creates make exactly one resource', async () => {
    const tag = uniqueTag();
    const headers = { ...fhirJson, 'if-none-exist': `Patient?identifier=urn:curp|${tag}` };
    const answers = await Promise.all(Array.from({ length: 8 }, () => t.request({ method: 'POST', url: '/fhir/Patient', headers, payload: patient(tag, tag) })));
    expect(answers.filter((a) => a.statusCode === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.statusCode === 200)).toHaveLength(7);
    expect(await count(tag)).toBe(1);
  });

  test('unknown criteria are refused, never ignored', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, 'if-none-exist': 'nonsense=1' }, payload: patient('x', 'x') });
    expect(res.statusCode).toBe(400);
  });
});

describe('conditional update, delete and patch', () => {
  test('PUT /Patient?identifier=… creates, then updates the one match; 412 on several', async () => {
    const tag = uniqueTag();
    const url = `/fhir/Patient?identifier=urn:curp|${tag}`;
    const created = await t.request({ method: 'PUT', url, headers: fhirJson, payload: patient(tag, tag) });
    expect(created.statusCode).toBe(201);
    const updated = await t.request({ method: 'PUT', url, headers: fhirJson, payload: patient(tag, tag, { gender: 'female' }) });
    expect(updated.statusCode).toBe(200);
    expect(updated.json().id).toBe(created.json().id);
    expect(updated.json().meta.versionId).toBe('2');
    await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: patient(tag, tag) });
    expect((await t.request({ method: 'PUT', url, headers: fhirJson, payload: patient(tag, tag) })).statusCode).toBe(412);
  });

  test('PATCH /Patient?… patches the one match; DELETE /Patient?… deletes it', async () => {
    const tag = uniqueTag();
    await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: patient(tag, tag) });
    const url = `/fhir/Patient?identifier=urn:curp|${tag}`;
    const patched = await t.request({ method: 'PATCH', url, headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'add', path: '/gender', value: 'male' }] });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().gender).toBe('male');
    expect((await t.request({ method: 'PATCH', url: '/fhir/Patient?identifier=urn:curp|none', headers: { 'content-type': 'application/json-patch+json' }, payload: [] })).statusCode).toBe(404);
    const deleted = await t.request({ method: 'DELETE', url });
    expect(deleted.statusCode).toBe(200);
    expect(await count(tag)).toBe(0);
  });

  test('DELETE with several matches is 412 and deletes nothing; without criteria it is 400', async () => {
    const tag = uniqueTag();
    await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: patient(tag, tag) });
    await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: patient(tag, tag) });
    expect((await t.request({ method: 'DELETE', url: `/fhir/Patient?identifier=urn:curp|${tag}` })).statusCode).toBe(412);
    expect(await count(tag)).toBe(2);
    expect((await t.request({ method: 'DELETE', url: '/fhir/Patient' })).statusCode).toBe(400);
  });
});

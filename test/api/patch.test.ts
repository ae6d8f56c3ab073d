import { describe, expect, test } from 'vitest';
import { fhirJson, useTestApp } from '../support/app.ts';

const t = useTestApp();
const jsonPatch = { 'content-type': 'application/json-patch+json' };

async function createPatient() {
  const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'female', name: [{ family: 'Ruiz' }] } });
  return res.json() as { id: string };
}

describe('JSON Patch', () => {
  test('applies operations and writes a new version', async () => {
    const { id } = await createPatient();
    const res = await t.request({
      method: 'PATCH',
      url: `/fhir/Patient/${id}`,
      headers: jsonPatch,
      payload: [
        { op: 'test', path: '/gender', value: 'female' },
        { op: 'replace', path: '/gender', value: 'other' },
        { op: 'add', path: '/birthDate', value: '1990-05-01' },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toBe('W/"2"');
    expect(res.json()).toMatchObject({ gender: 'other', birthDate: '1990-05-01', meta: { versionId: '2' } });
  });

  test('a failing test operation is 422 and writes nothing', async () => {
    const { id } = await createPatient();
    const res = await t.request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: jsonPatch, payload: [{ op: 'test', path: '/gender', value: 'male' }, { op: 'remove', path: '/gender' }] });
    expect(res.statusCode).toBe(422);
    expect(res.json().issue[0].details.text).toContain('TEST_OPERATION_FAILED');
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${id}` })).headers.etag).toBe('W/"1"');
  });

  test('a patch producing an invalid resource is rejected with the element path', async () => {
    const { id } = await createPatient();
    const res = await t.request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: jsonPatch, payload: [{ op: 'add', path: '/birthDate', value: '31/12/1980' }] });
    expect(res.statusCode).toBe(422);
    expect(res.json().issue[0].expression).toEqual(['Patient.birthDate']);
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${id}` })).json().birthDate).toBeUndefined();
  });

  test('a patch cannot change the id', async () => {
    const { id } = await createPatient();
    const res = await t.request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: jsonPatch, payload: [{ op: 'replace', path: '/id', value: 'other' }] });
    expect(res.statusCode).toBe(422);
  });

  test('a malformed patch document is 400', async () => {
    const { id } = await createPatient();
    const notArray = await t.request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: jsonPatch, payload: { op: 'replace' } });
    expect(notArray.statusCode).toBe(400);
    const badOp = await t.request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: jsonPatch, payload: [{ op: 'frobnicate', path: '/gender' }] });
    expect(badOp.statusCode).toBe(400);
  });

  test('__proto__ in a patch cannot pollute objects', async () => {
    const { id } = await createPatient();
    const res = await t.request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: jsonPatch, payload: '[{"op":"add","path":"/__proto__/polluted","value":true}]' });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('PATCH with a FHIR JSON body instead of JSON Patch is 415', async () => {
    const { id } = await createPatient();
    const res = await t.request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: { resourceType: 'Parameters' } });
    expect(res.statusCode).toBe(415);
  });

  test('If-Match is honoured and a deleted or missing resource cannot be patched', async () => {
    const { id } = await createPatient();
    const stale = await t.request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: { ...jsonPatch, 'if-match': 'W/"9"' }, payload: [{ op: 'remove', path: '/gender' }] });
    expect(stale.statusCode).toBe(412);
    await t.request({ method: 'DELETE', url: `/fhir/Patient/${id}` });
    const deleted = await t.request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: jsonPatch, payload: [{ op: 'remove', path: '/gender' }] });
    expect(deleted.statusCode).toBe(410);
    const missing = await t.request({ method: 'PATCH', url: '/fhir/Patient/nope', headers: jsonPatch, payload: [{ op: 'remove', path: '/gender' }] });
    expect(missing.statusCode).toBe(404);
  });
});

/** Issue 14: operations served by GET are invoked by POST too (R4 operations.html), and a batch may carry GET metadata. */
import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp();

async function patient(): Promise<{ id: string; curp: string }> {
  const curp = uniqueTag();
  const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', identifier: [{ system: 'urn:test:id', value: curp }], name: [{ family: 'Ortiz', given: ['Ana'] }], gender: 'female', birthDate: '1980-01-01' } });
  expect(res.statusCode).toBe(201);
  return { id: res.json().id, curp };
}

describe('operations by POST', () => {
  test.each(['$everything', '$summary', '$resumen-medico'])('POST Patient/{id}/%s with no body answers as GET does', async (op) => {
    const p = await patient();
    const get = await t.request({ method: 'GET', url: `/fhir/Patient/${p.id}/${op}` });
    expect(get.statusCode, get.body.slice(0, 300)).toBe(200);
    for (const headers of [{}, { 'content-type': 'application/fhir+json' }, { 'content-type': 'application/json' }]) {
      const post = await t.request({ method: 'POST', url: `/fhir/Patient/${p.id}/${op}`, headers });
      expect(post.statusCode, post.body.slice(0, 300)).toBe(200);
      expect(post.json().resourceType).toBe(get.json().resourceType);
    }
  });

  test('a Parameters body gives the parameters the URL would: $everything _type, $summary identifier', async () => {
    const p = await patient();
    await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: { resourceType: 'Observation', status: 'final', code: { text: 'peso' }, subject: { reference: `Patient/${p.id}` } } });
    const byParams = await t.request({ method: 'POST', url: `/fhir/Patient/${p.id}/$everything`, headers: fhirJson, payload: { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Observation' }] } });
    expect(byParams.statusCode, byParams.body.slice(0, 300)).toBe(200);
    const types = byParams.json().entry.map((e: any) => e.resource.resourceType);
    expect(new Set(types)).toEqual(new Set(['Observation']));
    const byGet = await t.request({ method: 'GET', url: `/fhir/Patient/${p.id}/$everything?_type=Observation` });
    expect(byGet.json().entry.length).toBe(byParams.json().entry.length);

    const summary = await t.request({ method: 'POST', url: '/fhir/Patient/$summary', headers: fhirJson, payload: { resourceType: 'Parameters', parameter: [{ name: 'identifier', valueString: `urn:test:id|${p.curp}` }] } });
    expect(summary.statusCode, summary.body.slice(0, 300)).toBe(200);
    expect(summary.json().type).toBe('document');
  });

  test('a body that is not Parameters, or a parameter that is a resource, is 400', async () => {
    const p = await patient();
    const notParams = await t.request({ method: 'POST', url: `/fhir/Patient/${p.id}/$everything`, headers: fhirJson, payload: { resourceType: 'Patient' } });
    expect(notParams.statusCode).toBe(400);
    expect(notParams.json().resourceType).toBe('OperationOutcome');
    const resourceParam = await t.request({ method: 'POST', url: `/fhir/Patient/${p.id}/$everything`, headers: fhirJson, payload: { resourceType: 'Parameters', parameter: [{ name: 'x', resource: { resourceType: 'Patient' } }] } });
    expect(resourceParam.statusCode).toBe(400);
    expect(resourceParam.json().issue[0].expression).toEqual(['Parameters.parameter[0]']);
  });

  test('POST keeps the access rules of GET: a patient token reaches only its own $everything, and is refused another\'s as by GET', async () => {
    const mine = await patient();
    const other = await patient();
    const token = await roleToken('patient', { patient: mine.id });
    expect((await t.request({ method: 'POST', url: `/fhir/Patient/${mine.id}/$everything`, token })).statusCode).toBe(200);
    // Another patient's record answers as an id that never existed (issue 13), by POST as by GET.
    const byGet = await t.request({ method: 'GET', url: `/fhir/Patient/${other.id}/$everything`, token });
    const byPost = await t.request({ method: 'POST', url: `/fhir/Patient/${other.id}/$everything`, token });
    expect(byPost.statusCode).toBe(byGet.statusCode);
    expect(byPost.statusCode).toBeGreaterThanOrEqual(400);
  });

  test('AuditEvent/$verify-chain by POST', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/AuditEvent/$verify-chain', token: await roleToken('auditor', {}, `auditor-${uniqueTag()}`) });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.json().resourceType).toBe('Parameters');
  });
});

test('GET metadata inside a batch answers the CapabilityStatement', async () => {
  const res = await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'metadata' } }] } });
  expect(res.statusCode).toBe(200);
  const entry = res.json().entry[0];
  expect(entry.response.status).toMatch(/^200/);
  expect(entry.resource.resourceType).toBe('CapabilityStatement');
});

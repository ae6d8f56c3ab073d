import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';

const t = useTestApp({ bodyLimit: 64 * 1024 });

function expectOutcome(res: { statusCode: number; headers: Record<string, unknown>; json(): any; body: string }, status: number) {
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toContain('application/fhir+json');
  const oo = res.json();
  expect(oo.resourceType).toBe('OperationOutcome');
  expect(oo.issue.length).toBeGreaterThan(0);
  for (const issue of oo.issue) {
    expect(issue.code).toBeTruthy();
    // Spanish first, English after.
    expect(issue.details.text).toContain(' / ');
  }
  expect(res.body).not.toMatch(/at .*\.ts:\d+|node_modules|<html/i);
  return oo;
}

async function systemHistorySince(mark: string): Promise<string> {
  const res = await t.request({ method: 'GET', url: `/fhir/_history?_since=${encodeURIComponent(mark)}&_count=1000` });
  expect(res.statusCode).toBe(200);
  return res.body;
}

describe('invalid resources', () => {
  test('the issue example gets one issue per problem, each with its path, and nothing is stored', async () => {
    const tag = uniqueTag();
    const mark = new Date().toISOString();
    const res = await t.request({
      method: 'POST',
      url: '/fhir/Patient',
      headers: fhirJson,
      payload: { resourceType: 'Patient', gender: 'mujer', birthDate: '31/12/1980', foo: 1, meta: { tag: [{ code: tag }] } },
    });
    const oo = expectOutcome(res, 400);
    const byPath = Object.fromEntries(oo.issue.map((i: any) => [i.expression[0], i]));
    expect(Object.keys(byPath).sort()).toEqual(['Patient.birthDate', 'Patient.foo', 'Patient.gender']);
    expect(byPath['Patient.gender'].details.text).toContain('mujer');
    expect(await systemHistorySince(mark)).not.toContain(tag);
  });

  test('a body whose resourceType is not the URL type is rejected', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } });
    expectOutcome(res, 400);
  });

  test('a body that is not a resource is rejected', async () => {
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: '[1,2]' }), 400);
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: '"text"' }), 400);
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: '{}' }), 400);
  });
});

describe('HTTP-level errors', () => {
  test('malformed JSON is 400', async () => {
    const oo = expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: '{"resourceType": "Patient",' }), 400);
    expect(oo.issue[0].details.text).toMatch(/JSON mal formado/);
  });

  test('an empty body is 400', async () => {
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: '' }), 400);
  });

  test('a body over the limit is 413', async () => {
    const big = { resourceType: 'Patient', name: [{ text: 'x'.repeat(70 * 1024) }] };
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: big }), 413);
  });

  test('XML bodies are 415; asking for XML is 406', async () => {
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/fhir+xml' }, payload: '<Patient xmlns="http://hl7.org/fhir"/>' }), 415);
    expectOutcome(await t.request({ method: 'GET', url: '/fhir/metadata', headers: { accept: 'application/fhir+xml' } }), 406);
    expectOutcome(await t.request({ method: 'GET', url: '/fhir/metadata?_format=xml' }), 406);
  });

  test('JSON formats and browser Accept headers are fine', async () => {
    for (const query of ['?_format=json', '?_format=application/fhir%2Bjson', '']) {
      expect((await t.request({ method: 'GET', url: `/fhir/metadata${query}` })).statusCode).toBe(200);
    }
    const browser = await t.request({ method: 'GET', url: '/fhir/metadata', headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
    expect(browser.statusCode).toBe(200);
  });

  test('an unknown resource type is 404', async () => {
    const oo = expectOutcome(await t.request({ method: 'GET', url: '/fhir/Paciente/1' }), 404);
    expect(oo.issue[0].details.text).toContain('Paciente');
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Paciente', headers: fhirJson, payload: { resourceType: 'Paciente' } }), 404);
  });

  test('an unsupported method is 405 with Allow', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/Patient/123', headers: fhirJson, payload: { resourceType: 'Patient' } });
    expectOutcome(res, 405);
    expect(res.headers.allow).toBe('DELETE, GET, HEAD, PATCH, PUT');
    const onHistory = await t.request({ method: 'DELETE', url: '/fhir/_history' });
    expectOutcome(onHistory, 405);
  });

  test('an unknown path is 404 as an OperationOutcome, never HTML', async () => {
    expectOutcome(await t.request({ method: 'GET', url: '/nothing/here' }), 404);
  });

  test('__proto__ and constructor keys are refused and pollute nothing', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: '{"resourceType":"Patient","__proto__":{"polluted":true}}' });
    expectOutcome(res, 400);
    const res2 = await t.request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/json' }, payload: '{"resourceType":"Patient","constructor":{"prototype":{"polluted":true}}}' });
    expectOutcome(res2, 400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('a malformed If-Match is 400', async () => {
    const created = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient' } });
    const id = created.json().id;
    expectOutcome(await t.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: { ...fhirJson, 'if-match': 'banana' }, payload: { resourceType: 'Patient', id } }), 400);
  });

  test('every response carries a request id', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/metadata' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('trailing slash and health', () => {
  test('a trailing slash is tolerated (fhir-kit-client)', async () => {
    expect((await t.request({ method: 'GET', url: '/fhir/metadata/' })).statusCode).toBe(200);
  });

  test('/healthz and /readyz', async () => {
    expect((await t.request({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.request({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
  });
});

/** Transaction and batch bundles (https://hl7.org/fhir/R4/http.html#transaction) through HTTP. */
import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp();

async function post(bundle: object, extra: object = {}) {
  return t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: bundle, ...extra });
}

async function historyContains(tag: string): Promise<boolean> {
  const res = await t.request({ method: 'GET', url: '/fhir/_history?_count=1000' });
  return res.body.includes(tag);
}

describe('transaction', () => {
  test('urn:uuid references are resolved across entries and every entry answers 201 with its location', async () => {
    const res = await post(
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a',
            resource: { resourceType: 'Observation', status: 'final', code: { text: 'peso' }, subject: { reference: 'urn:uuid:3a8b2d1e-0000-4000-8000-000000000001' } },
            request: { method: 'POST', url: 'Observation' },
          },
          {
            fullUrl: 'urn:uuid:3a8b2d1e-0000-4000-8000-000000000001',
            resource: { resourceType: 'Patient', name: [{ family: 'Transacción' }] },
            request: { method: 'POST', url: 'Patient' },
          },
        ],
      },
      { headers: { ...fhirJson, prefer: 'return=representation' } },
    );
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.type).toBe('transaction-response');
    expect(body.entry.map((e: any) => e.response.status)).toEqual(['201 Created', '201 Created']);
    const [obs, patient] = body.entry.map((e: any) => e.resource);
    expect(obs.subject.reference).toBe(`Patient/${patient.id}`);
    expect(body.entry[1].response.location).toMatch(new RegExp(`/fhir/Patient/${patient.id}/_history/1$`));
    const stored = await t.request({ method: 'GET', url: `/fhir/Observation/${obs.id}` });
    expect(stored.json().subject.reference).toBe(`Patient/${patient.id}`);
  });

  test('a transaction whose 50th entry is invalid leaves no trace of the first 49 and names the entry', async () => {
    const tag = uniqueTag();
    const entry = Array.from({ length: 50 }, (_, i) => ({
      resource: { resourceType: 'Patient', meta: { tag: [{ code: tag }] }, name: [{ family: `P${i}` }], ...(i === 49 ? { birthDate: '31/12/1980' } : {}) },
      request: { method: 'POST', url: 'Patient' },
    }));
    const res = await post({ resourceType: 'Bundle', type: 'transaction', entry });
    expect(res.statusCode).toBe(400);
    const issue = res.json().issue[0];
    expect(issue.expression).toContain('Bundle.entry[49]');
    expect(issue.expression).toContain('Bundle.entry[49].resource.birthDate');
    expect(issue.details.text).toMatch(/^Bundle\.entry\[49\] \(POST Patient\): Formato date inválido/);
    expect(await historyContains(tag)).toBe(false);
  });

  test('entries run DELETE, POST, PUT, GET whatever their order in the bundle', async () => {
    const id = uniqueTag();
    await t.request({ method: 'PUT', url: `/fhir/Basic/${id}-old`, headers: fhirJson, payload: { resourceType: 'Basic', id: `${id}-old`, code: { text: 'old' } } });
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `Basic/${id}` } },
        { resource: { resourceType: 'Basic', id, code: { text: 'new' } }, request: { method: 'PUT', url: `Basic/${id}` } },
        { request: { method: 'DELETE', url: `Basic/${id}-old` } },
      ],
    });
    expect(res.statusCode).toBe(200);
    const entries = res.json().entry;
    expect(entries[0].response.status).toBe('200 OK');
    expect(entries[0].resource.code.text).toBe('new');
    expect(entries[1].response.status).toBe('201 Created');
    expect((await t.request({ method: 'GET', url: `/fhir/Basic/${id}-old` })).statusCode).toBe(410);
  });

  test('duplicate fullUrls and references to no entry are clear 400s', async () => {
    const dup = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: { resourceType: 'Basic', code: { text: 'a' } }, request: { method: 'POST', url: 'Basic' } },
        { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: { resourceType: 'Basic', code: { text: 'b' } }, request: { method: 'POST', url: 'Basic' } },
      ],
    });
    expect(dup.statusCode).toBe(400);
    expect(dup.json().issue[0].details.text).toMatch(/fullUrl repetido/);
    const dangling = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:22222222-2222-4222-8222-222222222222' } }, request: { method: 'POST', url: 'Observation' } }],
    });
    expect(dangling.statusCode).toBe(400);
    expect(dangling.json().issue[0].details.text).toMatch(/urn:uuid:22222222/);
  });

  test('a conditional reference matching two resources fails the whole transaction with 412 and writes nothing', async () => {
    const cedula = uniqueTag();
    const marker = uniqueTag();
    const system = 'https://ecu-fhir.org/fhir/sid/cedula-profesional';
    const twins: string[] = [];
    for (const family of ['Homónimo', 'Homónima']) {
      const res = await t.request({ method: 'POST', url: '/fhir/Practitioner', headers: fhirJson, payload: { resourceType: 'Practitioner', identifier: [{ system, value: cedula }], name: [{ family }] } });
      expect(res.statusCode).toBe(201);
      twins.push(res.json().id);
    }
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:5d0c3e9a-0000-4000-8000-000000000412',
          resource: { resourceType: 'Patient', meta: { tag: [{ code: marker }] }, name: [{ family: 'Condicional' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: {
            resourceType: 'Observation',
            meta: { tag: [{ code: marker }] },
            status: 'final',
            code: { text: 'peso' },
            subject: { reference: 'urn:uuid:5d0c3e9a-0000-4000-8000-000000000412' },
            performer: [{ reference: `Practitioner?identifier=${system}|${cedula}` }],
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const tagged = async (type: string) => (await t.request({ method: 'GET', url: `/fhir/${type}?_tag=${marker}` })).json().entry ?? [];

    const res = await post(bundle);
    expect(res.statusCode).toBe(412);
    const issue = res.json().issue[0];
    expect(issue.expression).toContain('Bundle.entry[1].resource');
    expect(issue.details.text).toMatch(/coincide con más de un recurso .* matches more than one resource/);
    expect(await tagged('Patient')).toEqual([]);
    expect(await tagged('Observation')).toEqual([]);

    // The same bundle once the reference is unambiguous: it commits, so the searches above could have seen a leak.
    expect((await t.request({ method: 'DELETE', url: `/fhir/Practitioner/${twins[1]}` })).statusCode).toBe(200);
    expect((await post(bundle)).statusCode).toBe(200);
    expect(await tagged('Patient')).toHaveLength(1);
    const [observation] = await tagged('Observation');
    expect(observation.resource.performer[0].reference).toBe(`Practitioner/${twins[0]}`);
  });

  test('fhir-kit-client posts to /fhir/ with a trailing slash', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/', headers: fhirJson, payload: { resourceType: 'Bundle', type: 'batch', entry: [] } });
    expect(res.statusCode).toBe(200);
    expect(res.json().type).toBe('batch-response');
  });

  test('only transaction and batch bundles are accepted at the base', async () => {
    const res = await post({ resourceType: 'Bundle', type: 'collection', entry: [] });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].expression).toEqual(['Bundle.type']);
  });
});

describe('batch', () => {
  test('entries are independent: one failure does not stop the others, each has its own status', async () => {
    const res = await post({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Basic', code: { text: 'ok' } }, request: { method: 'POST', url: 'Basic' } },
        { resource: { resourceType: 'Basic', code: { text: 'bad' }, foo: 1 }, request: { method: 'POST', url: 'Basic' } },
        { request: { method: 'GET', url: 'Basic/does-not-exist' } },
        { request: { method: 'GET', url: 'NotAType/1' } },
      ],
    });
    expect(res.statusCode).toBe(200);
    const entries = res.json().entry;
    expect(entries.map((e: any) => e.response.status.split(' ')[0])).toEqual(['201', '400', '404', '404']);
    expect(entries[1].response.outcome.issue[0].expression).toEqual(['Basic.foo']);
  });

  test('a patient token cannot read another patient’s data inside a batch', async () => {
    const mine = (await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient' } })).json();
    const other = (await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient' } })).json();
    const otherObs = (
      await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${other.id}` } } })
    ).json();
    const token = await roleToken('patient', { patient: mine.id });
    const res = await post(
      {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'GET', url: `Patient/${mine.id}` } }, { request: { method: 'GET', url: `Observation/${otherObs.id}` } }, { request: { method: 'DELETE', url: `Patient/${mine.id}` } }],
      },
      { token },
    );
    expect(res.statusCode).toBe(200);
    const entries = res.json().entry;
    // Another patient's Observation is a 404, as if it did not exist; writing with a read-only token is a 403.
    expect(entries.map((e: any) => e.response.status.split(' ')[0])).toEqual(['200', '404', '403']);
    expect(entries[1].resource).toBeUndefined();
  });

  test('an auditor cannot write through a transaction either', async () => {
    const res = await post({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Basic', code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } }] }, { token: await roleToken('auditor') });
    expect(res.statusCode).toBe(403);
  });
});

describe('limits', () => {
  const small = useTestApp({ maxBundleEntries: 3 });
  test('a bundle over the configured entry limit is 413 and nothing is written', async () => {
    const tag = uniqueTag();
    const entry = Array.from({ length: 4 }, () => ({ resource: { resourceType: 'Basic', meta: { tag: [{ code: tag }] }, code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } }));
    const res = await small.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: { resourceType: 'Bundle', type: 'transaction', entry } });
    expect(res.statusCode).toBe(413);
    expect(res.json().issue[0].details.text).toMatch(/excede 3 entradas/);
    expect(await historyContains(tag)).toBe(false);
  });
});

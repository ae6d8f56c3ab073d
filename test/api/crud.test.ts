import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';

const t = useTestApp();

function patient(extra: Record<string, unknown> = {}) {
  return { resourceType: 'Patient', gender: 'female', birthDate: '1984-02-10', name: [{ family: 'Villa', given: ['Berta'] }], ...extra };
}

async function createPatient(extra: Record<string, unknown> = {}) {
  const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: patient(extra) });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; meta: { versionId: string; lastUpdated: string } };
}

describe('create', () => {
  test('201 with Location, ETag W/"1", Last-Modified and the stored resource in the body', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: patient({ id: 'client-chosen' }) });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.id).not.toBe('client-chosen');
    expect(body.meta.versionId).toBe('1');
    expect(new Date(body.meta.lastUpdated).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers.location).toBe(`http://localhost:80/fhir/Patient/${body.id}/_history/1`);
    expect(res.headers['last-modified']).toBe(new Date(body.meta.lastUpdated).toUTCString());
    expect(res.headers['content-type']).toContain('application/fhir+json');
    expect(body.name[0].family).toBe('Villa');
  });

  test('plain application/json is accepted as a FHIR body (fhirclient, fhir.js)', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/json; charset=utf-8' }, payload: patient() });
    expect(res.statusCode).toBe(201);
  });

  test('meta.versionId and lastUpdated from the client are replaced; profile and tags are kept', async () => {
    const tag = uniqueTag();
    const res = await t.request({
      method: 'POST',
      url: '/fhir/Patient',
      headers: fhirJson,
      payload: patient({ meta: { versionId: '99', lastUpdated: '2001-01-01T00:00:00Z', tag: [{ system: 'urn:test', code: tag }], profile: ['http://example.org/p'] } }),
    });
    const body = res.json();
    expect(body.meta.versionId).toBe('1');
    expect(body.meta.lastUpdated).not.toBe('2001-01-01T00:00:00Z');
    expect(body.meta.tag).toEqual([{ system: 'urn:test', code: tag }]);
    expect(body.meta.profile).toEqual(['http://example.org/p']);
  });

  test('Prefer: return=minimal answers without a body, return=OperationOutcome with one', async () => {
    const minimal = await t.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, prefer: 'return=minimal' }, payload: patient() });
    expect(minimal.statusCode).toBe(201);
    expect(minimal.body).toBe('');
    expect(minimal.headers.location).toMatch(/\/fhir\/Patient\/[0-9a-f-]{36}\/_history\/1$/);
    const oo = await t.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, prefer: 'return=OperationOutcome' }, payload: patient() });
    expect(oo.statusCode).toBe(201);
    expect(oo.json().resourceType).toBe('OperationOutcome');
    expect(oo.json().issue[0].severity).toBe('information');
  });

  test('any R4 resource type is accepted, not just a hand-picked few', async () => {
    for (const resource of [
      { resourceType: 'Substance', code: { text: 'paracetamol' } },
      { resourceType: 'Basic', code: { text: 'x' } },
      { resourceType: 'Observation', status: 'final', code: { text: 'peso' } },
    ]) {
      const res = await t.request({ method: 'POST', url: `/fhir/${resource.resourceType}`, headers: fhirJson, payload: resource });
      expect(res.statusCode, resource.resourceType).toBe(201);
    }
  });
});

describe('read and vread', () => {
  test('read returns the current version with ETag and Last-Modified', async () => {
    const created = await createPatient();
    const res = await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers['last-modified']).toBe(new Date(created.meta.lastUpdated).toUTCString());
  });

  test('read of an unknown id is 404 with an OperationOutcome', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/Patient/does-not-exist' });
    expect(res.statusCode).toBe(404);
    expect(res.json().resourceType).toBe('OperationOutcome');
    expect(res.json().issue[0].code).toBe('not-found');
    expect(res.json().issue[0].details.text).toMatch(/No existe .* \/ .*not found/);
  });

  test('If-None-Match with the current version answers 304; another version 200', async () => {
    const created = await createPatient();
    const same = await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}`, headers: { 'if-none-match': 'W/"1"' } });
    expect(same.statusCode).toBe(304);
    expect(same.body).toBe('');
    const other = await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}`, headers: { 'if-none-match': 'W/"7"' } });
    expect(other.statusCode).toBe(200);
  });

  test('If-Modified-Since answers 304 when nothing changed since, 200 otherwise', async () => {
    const created = await createPatient();
    const later = new Date(Date.now() + 60_000).toUTCString();
    const earlier = new Date(Date.parse(created.meta.lastUpdated) - 60_000).toUTCString();
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}`, headers: { 'if-modified-since': later } })).statusCode).toBe(304);
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}`, headers: { 'if-modified-since': earlier } })).statusCode).toBe(200);
  });

  test('vread returns each version as it was; unknown versions are 404', async () => {
    const created = await createPatient();
    await t.request({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: fhirJson, payload: patient({ id: created.id, gender: 'other' }) });
    const v1 = await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}/_history/1` });
    const v2 = await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}/_history/2` });
    expect(v1.json().gender).toBe('female');
    expect(v1.headers.etag).toBe('W/"1"');
    expect(v2.json().gender).toBe('other');
    expect(v2.json().meta.versionId).toBe('2');
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}/_history/3` })).statusCode).toBe(404);
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}/_history/x` })).statusCode).toBe(404);
  });
});

describe('update', () => {
  test('update bumps the version and keeps the old one', async () => {
    const created = await createPatient();
    const res = await t.request({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: fhirJson, payload: patient({ id: created.id, birthDate: '1984-02-11' }) });
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toBe('W/"2"');
    expect(res.json().meta.versionId).toBe('2');
    expect(res.json().birthDate).toBe('1984-02-11');
    const read = await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}` });
    expect(read.json().birthDate).toBe('1984-02-11');
  });

  test('update-as-create with a client id answers 201 and version 1', async () => {
    const id = `mx-${uniqueTag()}`;
    const res = await t.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: patient({ id }) });
    expect(res.statusCode).toBe(201);
    expect(res.json().id).toBe(id);
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers.location).toContain(`/fhir/Patient/${id}/_history/1`);
  });

  test('body id different from the URL id is 400, and nothing is written', async () => {
    const created = await createPatient();
    const res = await t.request({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: fhirJson, payload: patient({ id: 'other' }) });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].expression).toEqual(['Patient.id']);
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}` })).headers.etag).toBe('W/"1"');
    expect((await t.request({ method: 'GET', url: '/fhir/Patient/other' })).statusCode).toBe(404);
  });

  test('a body without id is 400', async () => {
    const created = await createPatient();
    const res = await t.request({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: fhirJson, payload: patient() });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].code).toBe('required');
  });

  test('resourceType different from the URL type is 400', async () => {
    const res = await t.request({ method: 'PUT', url: '/fhir/Observation/abc', headers: fhirJson, payload: patient({ id: 'abc' }) });
    expect(res.statusCode).toBe(400);
    expect((await t.request({ method: 'GET', url: '/fhir/Observation/abc' })).statusCode).toBe(404);
  });

  test('an invalid id in the URL is 400', async () => {
    const id = 'x'.repeat(65);
    const res = await t.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: patient({ id }) });
    expect(res.statusCode).toBe(400);
  });

  test('If-Match with the current version succeeds; a stale one is 412 and writes nothing', async () => {
    const created = await createPatient();
    const ok = await t.request({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: { ...fhirJson, 'if-match': 'W/"1"' }, payload: patient({ id: created.id, gender: 'male' }) });
    expect(ok.statusCode).toBe(200);
    const stale = await t.request({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: { ...fhirJson, 'if-match': 'W/"1"' }, payload: patient({ id: created.id, gender: 'other' }) });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().issue[0].expression).toEqual(['If-Match']);
    const read = await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}` });
    expect(read.json().gender).toBe('male');
    expect(read.headers.etag).toBe('W/"2"');
  });

  test('concurrent updates with the same If-Match: exactly one wins', async () => {
    const created = await createPatient();
    const results = await Promise.all(
      ['male', 'other', 'unknown', 'female'].map((gender) =>
        t.request({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: { ...fhirJson, 'if-match': 'W/"1"' }, payload: patient({ id: created.id, gender }) }),
      ),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 412, 412, 412]);
  });

  test('concurrent updates without If-Match all land as consecutive versions', async () => {
    const created = await createPatient();
    const results = await Promise.all([1, 2, 3].map((n) => t.request({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: fhirJson, payload: patient({ id: created.id, multipleBirthInteger: n }) })));
    const statuses = results.map((r) => r.statusCode);
    // Compare-and-set retries; under heavy contention a writer may give up with 409, never overwrite silently.
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    const landed = statuses.filter((s) => s === 200).length;
    const read = await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}` });
    expect(read.headers.etag).toBe(`W/"${1 + landed}"`);
  });
});

describe('delete', () => {
  test('delete is soft: read answers 410, history keeps every version', async () => {
    const created = await createPatient();
    const del = await t.request({ method: 'DELETE', url: `/fhir/Patient/${created.id}` });
    expect(del.statusCode).toBe(200);
    expect(del.json().resourceType).toBe('OperationOutcome');
    expect(del.headers.etag).toBe('W/"2"');
    const read = await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}` });
    expect(read.statusCode).toBe(410);
    expect(read.json().issue[0].code).toBe('deleted');
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}/_history/1` })).statusCode).toBe(200);
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}/_history/2` })).statusCode).toBe(410);
  });

  test('deleting again, or deleting what never existed, succeeds and writes nothing', async () => {
    const created = await createPatient();
    await t.request({ method: 'DELETE', url: `/fhir/Patient/${created.id}` });
    const again = await t.request({ method: 'DELETE', url: `/fhir/Patient/${created.id}` });
    expect(again.statusCode).toBe(200);
    expect(again.headers.etag).toBeUndefined();
    const history = await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}/_history` });
    expect(history.json().entry).toHaveLength(2);
    const missing = await t.request({ method: 'DELETE', url: '/fhir/Patient/never-existed', headers: { prefer: 'return=minimal' } });
    expect(missing.statusCode).toBe(204);
    expect((await t.request({ method: 'GET', url: '/fhir/Patient/never-existed' })).statusCode).toBe(404);
  });

  test('update after delete brings the resource back as a new version (201)', async () => {
    const created = await createPatient();
    await t.request({ method: 'DELETE', url: `/fhir/Patient/${created.id}` });
    const res = await t.request({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: fhirJson, payload: patient({ id: created.id }) });
    expect(res.statusCode).toBe(201);
    expect(res.headers.etag).toBe('W/"3"');
  });

  test('delete with a stale If-Match is 412', async () => {
    const created = await createPatient();
    const res = await t.request({ method: 'DELETE', url: `/fhir/Patient/${created.id}`, headers: { 'if-match': 'W/"5"' } });
    expect(res.statusCode).toBe(412);
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${created.id}` })).statusCode).toBe(200);
  });
});

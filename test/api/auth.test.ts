/** Authentication (401) and authorization by SMART scopes and roles (403), through HTTP. */
import { generateKeyPair } from 'jose';
import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { mintToken, roleToken } from '../support/tokens.ts';

const t = useTestApp();

function expectOutcome(res: { statusCode: number; json(): any }, status: number) {
  expect(res.statusCode).toBe(status);
  const body = res.json();
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue[0].details.text).toMatch(/ \/ /);
  return body;
}

async function createAsAdmin(resource: object): Promise<any> {
  const res = await t.request({ method: 'POST', url: `/fhir/${(resource as { resourceType: string }).resourceType}`, headers: fhirJson, payload: resource });
  expect(res.statusCode).toBe(201);
  return res.json();
}

describe('authentication', () => {
  test('no token is 401 with WWW-Authenticate', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/Patient/x', token: null });
    const oo = expectOutcome(res, 401);
    expect(oo.issue[0].code).toBe('login');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="ecu-fhir", error="invalid_request"/);
  });

  test('a token signed by another key is 401', async () => {
    const other = await generateKeyPair('ES256');
    const res = await t.request({ method: 'GET', url: '/fhir/Patient/x', token: await mintToken({ key: other.privateKey, claims: { role: 'admin' } }) });
    expectOutcome(res, 401);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
  });

  test('expired, not yet valid, wrong audience and wrong issuer are 401 and say why', async () => {
    const cases: [Parameters<typeof mintToken>[0], RegExp][] = [
      [{ expiresIn: -60 }, /expiró/],
      [{ notBefore: 600 }, /nbf/],
      [{ audience: 'another-api' }, /aud/],
      [{ issuer: 'https://evil.example' }, /iss/],
    ];
    for (const [options, why] of cases) {
      const res = await t.request({ method: 'GET', url: '/fhir/Patient/x', token: await mintToken({ ...options, claims: { role: 'admin' } }) });
      expect(expectOutcome(res, 401).issue[0].details.text).toMatch(why);
    }
  });

  test('garbage is 401', async () => {
    expectOutcome(await t.request({ method: 'GET', url: '/fhir/Patient/x', headers: { authorization: 'Bearer not.a.jwt' } }), 401);
    expectOutcome(await t.request({ method: 'GET', url: '/fhir/Patient/x', headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401);
  });

  test('discovery and health stay public', async () => {
    for (const url of ['/fhir/metadata', '/healthz', '/readyz', '/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration', '/openapi.yaml']) {
      expect((await t.request({ method: 'GET', url, token: null })).statusCode, url).toBe(200);
    }
    const smart = (await t.request({ method: 'GET', url: '/.well-known/smart-configuration', token: null })).json();
    expect(smart.capabilities).toContain('permission-v2');
  });
});

describe('scopes', () => {
  test('each interaction needs its own permission: 403 names the missing scope', async () => {
    const obs = await createAsAdmin({ resourceType: 'Observation', status: 'final', code: { text: 'peso' } });
    const readOnly = await mintToken({ claims: { scope: 'user/Observation.rs' } });
    const writeOnly = await mintToken({ claims: { scope: 'user/Observation.cud' } });
    const otherType = await mintToken({ claims: { scope: 'user/Condition.cruds' } });
    const body = { resourceType: 'Observation', status: 'final', code: { text: 'talla' } };
    const denied: [string, object, string][] = [
      ['create', { method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: body }, readOnly],
      ['update', { method: 'PUT', url: `/fhir/Observation/${obs.id}`, headers: fhirJson, payload: { ...body, id: obs.id } }, readOnly],
      ['patch', { method: 'PATCH', url: `/fhir/Observation/${obs.id}`, headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'replace', path: '/status', value: 'amended' }] }, readOnly],
      ['delete', { method: 'DELETE', url: `/fhir/Observation/${obs.id}` }, readOnly],
      ['read', { method: 'GET', url: `/fhir/Observation/${obs.id}` }, writeOnly],
      ['vread', { method: 'GET', url: `/fhir/Observation/${obs.id}/_history/1` }, writeOnly],
      ['history-instance', { method: 'GET', url: `/fhir/Observation/${obs.id}/_history` }, writeOnly],
      ['history-type', { method: 'GET', url: '/fhir/Observation/_history' }, writeOnly],
      ['history-system', { method: 'GET', url: '/fhir/_history' }, writeOnly],
      ['read other type', { method: 'GET', url: `/fhir/Observation/${obs.id}` }, otherType],
    ];
    for (const [name, request, token] of denied) {
      const res = await t.request({ ...(request as object), token } as never);
      expect(res.statusCode, name).toBe(403);
      expect(res.json().issue[0].code, name).toBe('forbidden');
    }
    // And the same tokens are enough for what they grant.
    expect((await t.request({ method: 'GET', url: `/fhir/Observation/${obs.id}`, token: readOnly })).statusCode).toBe(200);
    expect((await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: body, token: writeOnly })).statusCode).toBe(201);
  });

  test('SMART v1 scopes are accepted', async () => {
    const token = await mintToken({ claims: { scope: 'user/*.read' } });
    const obs = await createAsAdmin({ resourceType: 'Observation', status: 'final', code: { text: 'v1' } });
    expect((await t.request({ method: 'GET', url: `/fhir/Observation/${obs.id}`, token })).statusCode).toBe(200);
    expect((await t.request({ method: 'DELETE', url: `/fhir/Observation/${obs.id}`, token })).statusCode).toBe(403);
  });

  test('history across types holds only the types the scopes allow, without hinting at the rest', async () => {
    const tag = uniqueTag();
    const since = new Date(Date.now() - 1000).toISOString();
    await createAsAdmin({ resourceType: 'Condition', subject: { reference: 'Patient/x' }, meta: { tag: [{ code: tag }] } });
    await createAsAdmin({ resourceType: 'Observation', status: 'final', code: { text: tag } });
    const token = await mintToken({ claims: { scope: 'user/Observation.rs' } });
    const res = await t.request({ method: 'GET', url: `/fhir/_history?_since=${encodeURIComponent(since)}&_count=1000`, token });
    expect(res.statusCode).toBe(200);
    const entries = res.json().entry as any[];
    expect(entries.filter((e) => e.resource?.resourceType === 'Condition')).toEqual([]);
    expect(entries.some((e) => e.resource?.resourceType === 'Observation' && e.resource.code.text === tag)).toBe(true);
    expect(res.body).not.toContain('suppressed');
  });
});

describe('patient tokens', () => {
  test('a patient reads their own record but not another patient’s, by id or by history', async () => {
    const mine = await createAsAdmin({ resourceType: 'Patient', name: [{ family: 'Propia' }] });
    const other = await createAsAdmin({ resourceType: 'Patient', name: [{ family: 'Ajena' }] });
    const myObs = await createAsAdmin({ resourceType: 'Observation', status: 'final', code: { text: 'mía' }, subject: { reference: `Patient/${mine.id}` } });
    const otherObs = await createAsAdmin({ resourceType: 'Observation', status: 'final', code: { text: 'ajena' }, subject: { reference: `Patient/${other.id}` } });
    const token = await roleToken('patient', { patient: mine.id });

    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${mine.id}`, token })).statusCode).toBe(200);
    expect((await t.request({ method: 'GET', url: `/fhir/Observation/${myObs.id}`, token })).statusCode).toBe(200);
    // Another patient's record answers as if it did not exist.
    expectOutcome(await t.request({ method: 'GET', url: `/fhir/Patient/${other.id}`, token }), 404);
    expectOutcome(await t.request({ method: 'GET', url: `/fhir/Observation/${otherObs.id}`, token }), 404);
    expectOutcome(await t.request({ method: 'GET', url: `/fhir/Observation/${otherObs.id}/_history/1`, token }), 404);
    expectOutcome(await t.request({ method: 'GET', url: `/fhir/Observation/${otherObs.id}/_history`, token }), 404);
  });

  test('_include and _revinclude never bring in another patient’s resources', async () => {
    const mine = await createAsAdmin({ resourceType: 'Patient', name: [{ family: 'Incluye' }] });
    const other = await createAsAdmin({ resourceType: 'Patient', name: [{ family: 'Vecina' }] });
    const tag = uniqueTag();
    const otherObs = await createAsAdmin({ resourceType: 'Observation', status: 'final', code: { text: 'ajena' }, subject: { reference: `Patient/${other.id}` } });
    // My panel points at the other patient's Observation: within reach of _include, not of my token.
    await createAsAdmin({ resourceType: 'Observation', status: 'final', meta: { tag: [{ code: tag }] }, code: { text: 'panel' }, subject: { reference: `Patient/${mine.id}` }, hasMember: [{ reference: `Observation/${otherObs.id}` }] });
    // And the other patient's Observation derives from mine: within reach of _revinclude.
    const mineObs = await createAsAdmin({ resourceType: 'Observation', status: 'final', meta: { tag: [{ code: tag }] }, code: { text: 'mía' }, subject: { reference: `Patient/${mine.id}` } });
    await createAsAdmin({ resourceType: 'Observation', status: 'final', code: { text: 'derivada ajena' }, subject: { reference: `Patient/${other.id}` }, derivedFrom: [{ reference: `Observation/${mineObs.id}` }] });
    const token = await roleToken('patient', { patient: mine.id });
    for (const url of [`/fhir/Observation?_tag=${tag}&_include=Observation:has-member`, `/fhir/Observation?_tag=${tag}&_revinclude=Observation:derived-from`]) {
      const res = await t.request({ method: 'GET', url, token });
      expect(res.statusCode, url).toBe(200);
      const subjects = (res.json().entry as any[]).filter((e) => e.resource.resourceType === 'Observation').map((e) => e.resource.subject.reference);
      expect(subjects.length, url).toBeGreaterThan(0);
      expect(subjects.filter((s) => s !== `Patient/${mine.id}`), url).toEqual([]);
    }
    // The same searches by an admin do reach them: the test would notice if the links were not there.
    const admin = await t.request({ method: 'GET', url: `/fhir/Observation?_tag=${tag}&_include=Observation:has-member` });
    expect((admin.json().entry as any[]).some((e) => e.resource.id === otherObs.id)).toBe(true);
  });

  test('a patient token without a patient claim is refused', async () => {
    const token = await mintToken({ claims: { scope: 'patient/*.rs' } });
    expectOutcome(await t.request({ method: 'GET', url: '/fhir/Observation/x', token }), 403);
  });

  test('patient write scopes stay inside the compartment, and the refused write leaves nothing', async () => {
    const mine = await createAsAdmin({ resourceType: 'Patient', name: [{ family: 'Escribe' }] });
    const other = await createAsAdmin({ resourceType: 'Patient', name: [{ family: 'Otro' }] });
    const token = await mintToken({ claims: { scope: 'patient/Observation.cruds patient/Patient.rs', patient: mine.id } });
    const tag = uniqueTag();
    const ok = await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, token, payload: { resourceType: 'Observation', status: 'final', code: { text: 'glucosa' }, subject: { reference: `Patient/${mine.id}` } } });
    expect(ok.statusCode).toBe(201);
    const refused = await t.request({
      method: 'POST',
      url: '/fhir/Observation',
      headers: fhirJson,
      token,
      payload: { resourceType: 'Observation', status: 'final', meta: { tag: [{ code: tag }] }, code: { text: 'glucosa' }, subject: { reference: `Patient/${other.id}` } },
    });
    expectOutcome(refused, 403);
    const history = await t.request({ method: 'GET', url: '/fhir/Observation/_history?_count=1000' });
    expect(history.body).not.toContain(tag);
    // Moving one's own observation to another patient is refused too.
    const moved = await t.request({ method: 'PUT', url: `/fhir/Observation/${ok.json().id}`, headers: fhirJson, token, payload: { ...(ok.json() as object), subject: { reference: `Patient/${other.id}` } } });
    expectOutcome(moved, 403);
  });
});

describe('roles', () => {
  test('an auditor reads but can never create, update or delete, whatever its scopes say', async () => {
    const obs = await createAsAdmin({ resourceType: 'Observation', status: 'final', code: { text: 'auditada' } });
    for (const token of [await roleToken('auditor'), await roleToken('auditor', { scope: 'user/*.cruds' })]) {
      expect((await t.request({ method: 'GET', url: `/fhir/Observation/${obs.id}`, token })).statusCode).toBe(200);
      expectOutcome(await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, token, payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } }), 403);
      expectOutcome(await t.request({ method: 'PUT', url: `/fhir/Observation/${obs.id}`, headers: fhirJson, token, payload: { ...obs, status: 'amended' } }), 403);
      expectOutcome(
        await t.request({ method: 'PATCH', url: `/fhir/Observation/${obs.id}`, headers: { 'content-type': 'application/json-patch+json' }, token, payload: [{ op: 'replace', path: '/status', value: 'amended' }] }),
        403,
      );
      expectOutcome(await t.request({ method: 'DELETE', url: `/fhir/Observation/${obs.id}`, token }), 403);
    }
    expect((await t.request({ method: 'GET', url: `/fhir/Observation/${obs.id}` })).json().meta.versionId).toBe('1');
  });

  test('a pharmacy reads prescriptions and writes dispenses, not clinical notes', async () => {
    const token = await roleToken('pharmacy', { clues: 'DFSSA000001' });
    const rx = await createAsAdmin({ resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'paracetamol' }, subject: { reference: 'Patient/p' } });
    expect((await t.request({ method: 'GET', url: `/fhir/MedicationRequest/${rx.id}`, token })).statusCode).toBe(200);
    const dispense = await t.request({
      method: 'POST',
      url: '/fhir/MedicationDispense',
      headers: fhirJson,
      token,
      payload: { resourceType: 'MedicationDispense', status: 'completed', medicationCodeableConcept: { text: 'paracetamol' }, authorizingPrescription: [{ reference: `MedicationRequest/${rx.id}` }] },
    });
    expect(dispense.statusCode).toBe(201);
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Condition', headers: fhirJson, token, payload: { resourceType: 'Condition', subject: { reference: 'Patient/p' } } }), 403);
  });

  test('nobody writes the audit trail through the API, not even an admin', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/AuditEvent', headers: fhirJson, payload: { resourceType: 'AuditEvent' } });
    expectOutcome(res, 403);
  });
});

describe('authorship', () => {
  test('every version records who wrote it, from the token, and a client cannot claim someone else', async () => {
    const token = await roleToken('clinician', { clues: 'DFIMS000011' }, 'dra-ramirez');
    const forged = { url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-registrado-por', extension: [{ url: 'sujeto', valueIdentifier: { value: 'someone-else' } }] };
    const res = await t.request({
      method: 'POST',
      url: '/fhir/Observation',
      headers: fhirJson,
      token,
      payload: { resourceType: 'Observation', meta: { extension: [forged] }, status: 'final', code: { text: 'peso' } },
    });
    expect(res.statusCode).toBe(201);
    const stored = (await t.request({ method: 'GET', url: `/fhir/Observation/${res.json().id}` })).json();
    const writers = stored.meta.extension.filter((e: any) => e.url === forged.url);
    expect(writers).toHaveLength(1);
    expect(writers[0].extension).toEqual([
      { url: 'sujeto', valueIdentifier: { system: 'urn:ecu-fhir:token-subject', value: 'dra-ramirez' } },
      { url: 'clues', valueIdentifier: { system: 'urn:oid:2.16.840.1.113883.4.631', value: 'DFIMS000011' } },
    ]);
  });
});

/** $verify: valid and unchanged; tampered content detected; forged signatures refused; key rotation keeps old signatures verifiable; JWKS public. */
import type { MedicationRequest, Parameters, Provenance } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { connect } from '../../src/store/connect.ts';
import { newSigningKey, type KeySet } from '../../src/receta/signing-keys.ts';
import { fhirJson, useTestApp } from '../support/app.ts';
import { draft, param, put, recetaWorld, signed, type RecetaWorld } from '../support/receta.ts';
import { roleToken } from '../support/tokens.ts';

const oldKey = await newSigningKey();
const newKey = await newSigningKey('RS256');
const before: KeySet = { keys: [oldKey] };
const rotated: KeySet = { keys: [newKey, oldKey] };
const t = useTestApp({ profileEnforcement: 'strict', recetaSigningKeys: before });
const afterRotation = useTestApp({ profileEnforcement: 'strict', recetaSigningKeys: rotated });
const oldKeyGone = useTestApp({ profileEnforcement: 'strict', recetaSigningKeys: { keys: [newKey] } });
const db = connect({ databaseUrl: inject('databaseUrl'), maxConnections: 2 });
let w: RecetaWorld;

beforeAll(async () => {
  w = await recetaWorld(t);
});
afterAll(async () => {
  await db.destroy();
});

async function verify(app: typeof t, id: string, method: 'GET' | 'POST' = 'GET', token = w.pharmacy): Promise<Parameters> {
  const res = await app.request({ method, url: `/fhir/MedicationRequest/${id}/$verify`, token });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Parameters;
}

const value = (p: Parameters, name: string) => {
  const x = param(p, name);
  return x?.valueBoolean ?? x?.valueString ?? x?.valueReference?.reference;
};

/** Rewrites a stored resource behind the API's back (as an attacker with database access would), keeping history consistent. */
async function tamper(type: string, id: string, change: (content: Record<string, any>) => void): Promise<void> {
  const row = await db.selectFrom('resource').select('content').where('resource_type', '=', type).where('id', '=', id).executeTakeFirstOrThrow();
  const content = JSON.parse(row.content ?? '{}') as Record<string, any>;
  change(content);
  await sql`UPDATE resource SET version_id = version_id + 1, last_updated = now(), content = ${JSON.stringify(content)} WHERE resource_type = ${type} AND id = ${id}`.execute(db);
}

describe('$verify', () => {
  test('a fresh signature is valid and the content unchanged (GET and POST, pharmacy token)', async () => {
    const { request, folio, parameters } = await signed(t, w, draft(w));
    for (const method of ['GET', 'POST'] as const) {
      const v = await verify(t, request.id ?? '', method);
      expect(value(v, 'result')).toBe(true);
      expect(value(v, 'signatureValid')).toBe(true);
      expect(value(v, 'contentUnchanged')).toBe(true);
      expect(value(v, 'kid')).toBe(oldKey.kid);
      expect(param(v, 'folio')?.valueIdentifier?.value).toBe(folio);
      expect(value(v, 'provenance')).toBe(`Provenance/${(param(parameters, 'provenance')?.resource as Provenance | undefined)?.id ?? ''}`);
      expect(value(v, 'signer')).toBe(`Practitioner/${w.practitionerId}`);
    }
  });

  test('a status change after signing keeps the signature valid', async () => {
    const { request } = await signed(t, w, draft(w));
    expect((await put(t, { ...request, status: 'stopped' }, w.doctor)).statusCode).toBe(200);
    expect(value(await verify(t, request.id ?? ''), 'result')).toBe(true);
  });

  test('content tampered with in the database: the signature is authentic but the change is detected and named', async () => {
    const group = { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` };
    const a = draft(w, (m) => (m.groupIdentifier = group));
    const b = draft(w, (m) => (m.groupIdentifier = group));
    await put(t, b, w.doctor);
    const { request } = await signed(t, w, a);
    await tamper('MedicationRequest', b.id ?? '', (c) => (c.dispenseRequest.quantity.value = 100));
    const v = await verify(t, request.id ?? '');
    expect(value(v, 'result')).toBe(false);
    expect(value(v, 'signatureValid')).toBe(true);
    expect(value(v, 'contentUnchanged')).toBe(false);
    expect(v.parameter?.filter((p) => p.name === 'changed').map((p) => p.valueReference?.reference)).toEqual([`MedicationRequest/${b.id ?? ''}`]);
    expect(value(v, 'message')).toMatch(/el contenido cambió desde la firma/);
  });

  test('a forged signature (Provenance altered in the database) is not valid', async () => {
    const { request, parameters } = await signed(t, w, draft(w));
    const provenanceId = (param(parameters, 'provenance')?.resource as Provenance | undefined)?.id ?? '';
    const other = (await signed(t, w, draft(w))).parameters;
    const foreign = (param(other, 'provenance')?.resource as Provenance | undefined)?.signature?.[0]?.data;
    await tamper('Provenance', provenanceId, (c) => (c.signature[0].data = foreign));
    const v = await verify(t, request.id ?? '');
    expect(value(v, 'result')).toBe(false);
    expect(value(v, 'signatureValid')).toBe(false);
    expect(value(v, 'message')).toMatch(/La firma no corresponde al contenido/);
  });

  test('the signature Provenance cannot be changed or deleted through the API (409)', async () => {
    const provenance = param((await signed(t, w, draft(w))).parameters, 'provenance')?.resource as Provenance;
    expect((await put(t, { ...provenance, recorded: '2020-01-01T00:00:00Z' })).statusCode).toBe(409);
    expect((await t.request({ method: 'DELETE', url: `/fhir/Provenance/${provenance.id ?? ''}` })).statusCode).toBe(409);
  });

  test("a patient token verifies its own recetas only", async () => {
    const { request } = await signed(t, w, draft(w));
    const url = `/fhir/MedicationRequest/${request.id ?? ''}/$verify`;
    expect((await t.request({ method: 'GET', url, token: await roleToken('patient', { patient: w.patientId }) })).statusCode).toBe(200);
    expect((await t.request({ method: 'GET', url, token: await roleToken('patient', { patient: 'otra-persona' }) })).statusCode).toBe(404);
  });

  test('an unsigned prescription has nothing to verify (422)', async () => {
    const m = draft(w);
    await put(t, m, w.doctor);
    expect((await t.request({ method: 'GET', url: `/fhir/MedicationRequest/${m.id ?? ''}/$verify`, token: w.pharmacy })).statusCode).toBe(422);
  });
});

describe('key rotation', () => {
  test('after rotation the new key signs, and signatures by the old key still verify', async () => {
    const old = await signed(t, w, draft(w));
    const fresh = await signed(afterRotation, w, draft(w));
    expect(value(await verify(afterRotation, fresh.request.id ?? ''), 'kid')).toBe(newKey.kid);
    const v = await verify(afterRotation, old.request.id ?? '');
    expect(value(v, 'result')).toBe(true);
    expect(value(v, 'kid')).toBe(oldKey.kid);
  });

  test('a server that dropped the old key says so instead of calling the signature valid', async () => {
    const old = await signed(t, w, draft(w));
    const v = await verify(oldKeyGone, old.request.id ?? '');
    expect(value(v, 'signatureValid')).toBe(false);
    expect(value(v, 'message')).toMatch(/Llave de firma desconocida/);
  });

  test('the JWKS is public, lists current and retired keys by kid, and holds no private parts', async () => {
    const res = await afterRotation.request({ method: 'GET', url: '/fhir/.well-known/receta-jwks.json', token: null });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/jwk-set\+json/);
    const jwks = res.json() as { keys: { kid: string; d?: string; p?: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([newKey.kid, oldKey.kid]);
    expect(jwks.keys.every((k) => k.d === undefined && k.p === undefined)).toBe(true);
  });
});

test('anyone can check a signature offline with the JWKS and the canonical payload', async () => {
  const { canonicalPayload } = await import('../../src/receta/canonical.ts');
  const { compactVerify, importJWK, base64url } = await import('jose');
  const { request, parameters } = await signed(t, w, draft(w));
  const jws = Buffer.from((param(parameters, 'provenance')?.resource as Provenance | undefined)?.signature?.[0]?.data ?? '', 'base64').toString();
  const jwks = (await t.request({ method: 'GET', url: '/fhir/.well-known/receta-jwks.json', token: null, headers: fhirJson })).json() as { keys: { kid: string; alg: string }[] };
  const [header, , signature] = jws.split('.');
  const kid = (JSON.parse(Buffer.from(header ?? '', 'base64url').toString()) as { kid: string }).kid;
  const jwk = jwks.keys.find((k) => k.kid === kid);
  const payload = canonicalPayload([request as MedicationRequest]);
  await expect(compactVerify(`${header}.${base64url.encode(payload)}.${signature}`, await importJWK(jwk ?? {}, jwk?.alg))).resolves.toBeTruthy();
});

/** Receta lifecycle over HTTP (strict MX enforcement): draft → active only by $sign, then completed / cancelled / stopped / entered-in-error, nothing else. */
import type { MedicationRequest, Parameters, Provenance } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { folioSystem } from '../../src/receta/systems.ts';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { create, dispense, draft, param, put, read, type RecetaWorld, recetaWorld, sign, signed, text } from '../support/receta.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp({ profileEnforcement: 'strict' });
let w: RecetaWorld;

beforeAll(async () => {
  w = await recetaWorld(t);
});

async function setStatus(m: MedicationRequest, status: MedicationRequest['status'], token = w.doctor) {
  return put(t, { ...m, status }, token);
}

describe('creating and editing drafts', () => {
  test('a receta is created as draft; active, completed… at creation are 422', async () => {
    for (const status of ['active', 'completed', 'on-hold'] as const) {
      const res = await put(t, draft(w, (m) => (m.status = status)), w.doctor);
      expect(res.statusCode, res.body).toBe(422);
      expect(text(res)).toMatch(/se crea en estado draft y solo se activa al firmarla con \$sign/);
    }
    const ok = await put(t, draft(w), w.doctor);
    expect(ok.statusCode, ok.body).toBe(201);
  });

  test('a draft can be edited freely, but PUT status active is not signing (409)', async () => {
    const m = await create(t, w, draft(w));
    expect((await put(t, { ...m, dosageInstruction: [{ text: '1 tableta cada 12 horas' }] }, w.doctor)).statusCode).toBe(200);
    const res = await setStatus(await read(t, m.id ?? ''), 'active');
    expect(res.statusCode).toBe(409);
    expect(text(res)).toMatch(/draft → active.*POST MedicationRequest\/\{id\}\/\$sign/);
  });

  test('a draft cannot claim a folio: folios are issued by the server (422)', async () => {
    const res = await put(t, draft(w, (m) => (m.groupIdentifier = { system: folioSystem(w.clues), value: '00000001' })), w.doctor);
    expect(res.statusCode).toBe(422);
    expect(text(res)).toMatch(/lo emite el servidor al firmar/);
  });

  test('draft → cancelled, draft → entered-in-error and deleting a draft are allowed; completed/stopped are not', async () => {
    for (const status of ['cancelled', 'entered-in-error'] as const) {
      const m = await create(t, w, draft(w));
      expect((await setStatus(m, status)).statusCode).toBe(200);
    }
    for (const status of ['completed', 'stopped'] as const) {
      const m = await create(t, w, draft(w));
      expect((await setStatus(m, status)).statusCode).toBe(409);
    }
    const m = await create(t, w, draft(w));
    expect((await t.request({ method: 'DELETE', url: `/fhir/MedicationRequest/${m.id ?? ''}`, token: w.doctor })).statusCode).toBe(200);
  });
});

describe('$sign', () => {
  test('makes the receta active with a server folio and a Provenance holding a detached JWS', async () => {
    const { request, folio, parameters } = await signed(t, w, draft(w));
    expect(request.status).toBe('active');
    expect(request.groupIdentifier).toEqual({ system: folioSystem(w.clues), value: folio });
    expect(folio).toMatch(/^\d{8}$/);
    const provenance = param(parameters, 'provenance')?.resource as Provenance;
    expect(provenance.target).toEqual([{ reference: `MedicationRequest/${request.id ?? ''}/_history/2` }]);
    const signature = provenance.signature?.[0];
    expect(signature).toMatchObject({ sigFormat: 'application/jose', targetFormat: 'application/json', who: { reference: `Practitioner/${w.practitionerId}` } });
    expect(Buffer.from(signature?.data ?? '', 'base64').toString()).toMatch(/^[\w-]+\.\.[\w-]+$/);
    // The Provenance is stored like any resource, and readable.
    expect((await t.request({ method: 'GET', url: `/fhir/Provenance/${provenance.id ?? ''}` })).statusCode).toBe(200);
  });

  test('signs the whole group: one folio for every draft sharing the groupIdentifier; the client id is kept as an identifier', async () => {
    const group = { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` };
    const a = await create(t, w, draft(w, (m) => (m.groupIdentifier = group)));
    const b = await create(t, w, draft(w, (m) => (m.groupIdentifier = group)));
    const res = await sign(t, a.id ?? '', w.doctor);
    expect(res.statusCode, res.body).toBe(200);
    const folio = param(res.json() as Parameters, 'folio')?.valueIdentifier;
    for (const id of [a.id, b.id]) {
      const m = await read(t, id ?? '');
      expect(m.status).toBe('active');
      expect(m.groupIdentifier).toEqual(folio);
      expect(m.identifier).toContainEqual(group);
    }
    expect((res.json() as Parameters).parameter?.filter((p) => p.name === 'medicationRequest')).toHaveLength(2);
  });

  test('folio numbers grow and never repeat within an institution: its units share one sequence; the system names the unit', async () => {
    const first = await signed(t, w, draft(w));
    // Another ISSSTE unit (IST in the CLUES) continues the same sequence.
    const otherUnit = await recetaWorld(t, `DFIST${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`);
    const second = await signed(t, otherUnit, draft(otherUnit));
    const third = await signed(t, w, draft(w));
    expect(Number(second.folio)).toBeGreaterThan(Number(first.folio));
    expect(Number(third.folio)).toBeGreaterThan(Number(second.folio));
    expect(first.request.groupIdentifier?.system).toBe(folioSystem(w.clues));
    expect(second.request.groupIdentifier?.system).toBe(folioSystem(otherUnit.clues));
    // A unit of an institution that has issued nothing yet starts at 1.
    const letters = () => String.fromCharCode(65 + Math.floor(Math.random() * 26));
    const newInstitution = await recetaWorld(t, `DFZ${letters()}${letters()}000001`);
    expect((await signed(t, newInstitution, draft(newInstitution))).folio).toBe('00000001');
  });

  test('only the prescriber signs: another physician, a pharmacy or a token without fhirUser get 403; signing twice is 409', async () => {
    const m = await create(t, w, draft(w));
    const id = m.id ?? '';
    for (const token of [await roleToken('clinician', { clues: w.clues, fhirUser: 'Practitioner/otro' }), await roleToken('clinician', { clues: w.clues }), w.pharmacy]) {
      const res = await sign(t, id, token);
      expect(res.statusCode, res.body).toBe(403);
    }
    expect((await sign(t, id, w.doctor)).statusCode).toBe(200);
    const again = await sign(t, id, w.doctor);
    expect(again.statusCode).toBe(409);
    expect(text(again)).toMatch(/solo se firma un borrador/);
    expect((await sign(t, `no-existe-${uniqueTag()}`, w.doctor)).statusCode).toBe(404);
  });
});

test('a receta is signed once: parallel $sign calls from different members of the group give one 200 and 409s, never a 500', async () => {
  const group = { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` };
  const members = [];
  for (let i = 0; i < 3; i++) members.push(await create(t, w, draft(w, (m) => (m.groupIdentifier = group))));
  const results = await Promise.all([...members, ...members].map((m) => sign(t, m.id ?? '', w.doctor)));
  expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409, 409, 409]);
  const folios = new Set();
  for (const m of members) folios.add((await read(t, m.id ?? '')).groupIdentifier?.value);
  expect(folios.size).toBe(1);
});

describe('after signing', () => {
  test('the clinical content cannot change (422), whatever else the write says', async () => {
    const { request } = await signed(t, w, draft(w));
    const res = await put(t, { ...request, dispenseRequest: { ...request.dispenseRequest, quantity: { value: 100, unit: 'tableta' } } }, w.doctor);
    expect(res.statusCode).toBe(422);
    expect(text(res)).toMatch(/su contenido clínico no puede cambiar, solo su estado/);
    const patched = await t.request({ method: 'PATCH', url: `/fhir/MedicationRequest/${request.id ?? ''}`, headers: { 'content-type': 'application/json-patch+json' }, token: w.doctor, payload: [{ op: 'replace', path: '/dosageInstruction/0/text', value: 'otra' }] });
    expect(patched.statusCode).toBe(422);
    // Status alone (with a reason) may change.
    expect((await put(t, { ...request, status: 'stopped', statusReason: { text: 'reacción adversa' } }, w.doctor)).statusCode).toBe(200);
  });

  test('active → cancelled before any dispense; then cancelled is final (409)', async () => {
    const { request } = await signed(t, w, draft(w));
    expect((await setStatus(request, 'cancelled')).statusCode).toBe(200);
    for (const status of ['active', 'draft', 'stopped', 'completed', 'entered-in-error'] as const) {
      const res = await setStatus(request, status);
      expect(res.statusCode).toBe(409);
      expect(text(res)).toMatch(/cancelled es un estado final/);
    }
  });

  test('active → entered-in-error before any dispense', async () => {
    const { request } = await signed(t, w, draft(w));
    expect((await setStatus(request, 'entered-in-error')).statusCode).toBe(200);
  });

  test('after a partial dispense: cancelled / entered-in-error are 409, stopped is allowed and final', async () => {
    const { request } = await signed(t, w, draft(w));
    expect((await dispense(t, request.id ?? '', 4, w.pharmacy)).statusCode).toBe(201);
    for (const status of ['cancelled', 'entered-in-error'] as const) {
      const res = await setStatus(request, status);
      expect(res.statusCode).toBe(409);
      expect(text(res)).toMatch(/use stopped/);
    }
    expect((await setStatus(request, 'completed')).statusCode).toBe(409);
    expect((await setStatus(request, 'stopped')).statusCode).toBe(200);
    expect((await dispense(t, request.id ?? '', 1, w.pharmacy)).statusCode).toBe(409);
  });

  test('completed is set by the server when fully dispensed, and is final', async () => {
    const { request } = await signed(t, w, draft(w));
    expect((await dispense(t, request.id ?? '', 10, w.pharmacy)).statusCode).toBe(201);
    const done = await read(t, request.id ?? '');
    expect(done.status).toBe('completed');
    expect((await setStatus(done, 'active')).statusCode).toBe(409);
  });

  test('active → draft, on-hold and delete are refused (409)', async () => {
    const { request } = await signed(t, w, draft(w));
    for (const status of ['draft', 'on-hold'] as const) expect((await setStatus(request, status)).statusCode).toBe(409);
    const res = await t.request({ method: 'DELETE', url: `/fhir/MedicationRequest/${request.id ?? ''}`, token: w.doctor });
    expect(res.statusCode).toBe(409);
    expect(text(res)).toMatch(/no se borra \(NOM-004\)/);
  });

  test('a pharmacy cannot change a prescription at all (scopes)', async () => {
    const { request } = await signed(t, w, draft(w));
    expect((await setStatus(request, 'stopped', w.pharmacy)).statusCode).toBe(403);
  });
});

test('a non-MX prescription on a declared-mode server keeps the plain FHIR behaviour', async () => {
  // (covered by auth.test.ts: an active MedicationRequest without the MX profile is created and dispensed freely)
  const res = await t.request({ method: 'GET', url: '/fhir/metadata', headers: fhirJson });
  const rx = (res.json() as { rest: { resource: { type: string; operation: { name: string }[] }[] }[] }).rest[0]?.resource.find((r) => r.type === 'MedicationRequest');
  expect(rx?.operation.map((o) => o.name)).toEqual(['validate', 'sign', 'verify', 'pharmacy-queue']);
});

/**
 * One active Patient per CURP (the national key of the Expediente Clínico
 * Único), in strict and declared profile modes, held by the database even
 * between two server instances writing at the same time.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { curpCheckDigit } from '../../src/mx/curp.ts';
import { curpSystem } from '../../src/mx/systems.ts';
import type { Patient } from '@medplum/fhirtypes';
import { mxFixture } from '../fixtures/mx/index.ts';
import { fhirJson } from '../support/app.ts';
import { createOwnDatabase } from '../support/own-database.ts';
import { adminToken, testAuth } from '../support/tokens.ts';

const consonants = 'BCDFGHJKLMNPQRSTVWXZ';
const used = new Set<string>();

/** A valid CURP not used before in this file (by default born 1985-03-15, male, Ciudad de México). */
function newCurp(start = 'GOMC850315HDF'): string {
  for (;;) {
    const pick = () => consonants.charAt(Math.floor(Math.random() * consonants.length));
    const first17 = `${start}${pick()}${pick()}${pick()}0`;
    const curp = first17 + curpCheckDigit(first17);
    if (!used.has(curp)) {
      used.add(curp);
      return curp;
    }
  }
}

function patient(curp: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { resourceType: 'Patient', identifier: [{ system: curpSystem, value: curp }], name: [{ family: 'Gómez', given: ['Carlos'] }], gender: 'male', birthDate: '1985-03-15', ...extra };
}

/** The MX profile's patient (strict mode) with another CURP of the same person data. */
function mxPatient(curp: string): Record<string, unknown> {
  const p = mxFixture<Patient>('patient.json');
  delete p.id;
  p.identifier = p.identifier?.map((i) => (i.system === curpSystem ? { ...i, value: curp } : i));
  return p as unknown as Record<string, unknown>;
}

let one: FastifyInstance;
let two: FastifyInstance;
let strict: FastifyInstance;

beforeAll(async () => {
  const databaseUrl = await createOwnDatabase(inject('databaseUrl'));
  const options = { databaseUrl, logger: false, auth: testAuth, rateLimitPerMinute: 0 } as const;
  [one, two, strict] = await Promise.all([buildApp({ ...options, profileEnforcement: 'declared' }), buildApp({ ...options, profileEnforcement: 'declared' }), buildApp({ ...options, profileEnforcement: 'strict' })]);
});
afterAll(async () => {
  await Promise.all([one?.close(), two?.close(), strict?.close()]);
});

function send(app: FastifyInstance, method: 'POST' | 'PUT' | 'DELETE' | 'GET', url: string, payload?: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method, url, payload: payload as Record<string, unknown>, headers: { ...(payload === undefined ? {} : fhirJson), authorization: `Bearer ${adminToken}`, ...headers } });
}

describe('CURP is unique among active Patients', () => {
  test.each([
    ['declared', () => one, (curp: string) => patient(curp)],
    ['strict', () => strict, mxPatient],
  ])('a second active Patient with the same CURP is refused with 409 naming the first (%s)', async (mode, app, body) => {
    const curp = mode === 'strict' ? newCurp('VIRB840210MDF') : newCurp();
    if (mode === 'strict') expect((await send(strict, 'PUT', '/fhir/Organization/issste-cmf-narvarte', mxFixture('organization.json'))).statusCode).toBeLessThan(300);
    const first = await send(app(), 'POST', '/fhir/Patient', body(curp));
    expect(first.statusCode, first.body).toBe(201);
    const id = first.json().id as string;
    const second = await send(app(), 'POST', '/fhir/Patient', { ...body(curp), name: [{ family: 'Otro' }] });
    expect(second.statusCode, second.body).toBe(409);
    const issue = second.json().issue[0];
    expect(issue.code).toBe('duplicate');
    expect(issue.expression).toEqual(['Patient.identifier[0]']);
    expect(issue.details.text).toContain(`Patient/${id}`);
    expect(issue.details.text).toContain(`PUT Patient?identifier=${curpSystem}|${curp}`);
    expect(issue.details.text).toContain('Patient.link');
    // Nothing of the refused write is stored.
    const found = await send(app(), 'GET', `/fhir/Patient?identifier=${curpSystem}|${curp}`);
    expect(found.json().entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([id]);
  });

  test('an update that adds a taken CURP is refused; one to the holder itself is fine', async () => {
    const curp = newCurp();
    const holder = (await send(one, 'POST', '/fhir/Patient', patient(curp))).json().id as string;
    const other = (await send(one, 'POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Luna' }] })).json().id as string;
    const put = await send(two, 'PUT', `/fhir/Patient/${other}`, { ...patient(curp), id: other });
    expect(put.statusCode, put.body).toBe(409);
    expect(put.json().issue[0].details.text).toContain(`Patient/${holder}`);
    const same = await send(two, 'PUT', `/fhir/Patient/${holder}`, { ...patient(curp), id: holder, telecom: [{ system: 'phone', value: '5555555555' }] });
    expect(same.statusCode, same.body).toBe(200);
  });

  test('conditional create and conditional update by CURP keep working', async () => {
    const curp = newCurp();
    const created = await send(one, 'POST', '/fhir/Patient', patient(curp), { 'if-none-exist': `identifier=${curpSystem}|${curp}` });
    expect(created.statusCode).toBe(201);
    const again = await send(two, 'POST', '/fhir/Patient', patient(curp), { 'if-none-exist': `identifier=${curpSystem}|${curp}` });
    expect(again.statusCode, again.body).toBe(200);
    const updated = await send(two, 'PUT', `/fhir/Patient?identifier=${curpSystem}|${curp}`, patient(curp, { telecom: [{ system: 'phone', value: '5511111111' }] }));
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json().id).toBe(created.json().id);
  });

  test('an inactive or deleted record gives its CURP up (a merge: the retired record links to the kept one)', async () => {
    const curp = newCurp();
    const oldId = (await send(one, 'POST', '/fhir/Patient', patient(curp))).json().id as string;
    expect((await send(one, 'POST', '/fhir/Patient', patient(curp, { active: false }))).statusCode).toBe(201);
    const retire = await send(one, 'PUT', `/fhir/Patient/${oldId}`, { ...patient(curp), id: oldId, active: false });
    expect(retire.statusCode, retire.body).toBe(200);
    const kept = await send(two, 'POST', '/fhir/Patient', patient(curp));
    expect(kept.statusCode, kept.body).toBe(201);
    // Reactivating the retired record would make two active again.
    expect((await send(one, 'PUT', `/fhir/Patient/${oldId}`, { ...patient(curp), id: oldId, active: true })).statusCode).toBe(409);
    const keptId = kept.json().id as string;
    const deleted = await send(two, 'DELETE', `/fhir/Patient/${keptId}`);
    expect(deleted.statusCode, deleted.body).toBeLessThan(300);
    expect((await send(one, 'PUT', `/fhir/Patient/${oldId}`, { ...patient(curp), id: oldId, active: true })).statusCode).toBe(200);
  });

  test('concurrent creates on two instances: exactly one wins', async () => {
    for (let round = 0; round < 3; round++) {
      const curp = newCurp();
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => send(i % 2 === 0 ? one : two, 'POST', '/fhir/Patient', patient(curp))));
      const statuses = results.map((r) => r.statusCode).sort();
      expect(statuses, results.map((r) => r.body.slice(0, 200)).join('\n')).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
      const found = await send(one, 'GET', `/fhir/Patient?identifier=${curpSystem}|${curp}`);
      expect(found.json().entry).toHaveLength(1);
    }
  });

  test('two entries of one transaction with the same CURP fail it whole', async () => {
    const curp = newCurp();
    const res = await send(one, 'POST', '/fhir', { resourceType: 'Bundle', type: 'transaction', entry: [0, 1].map(() => ({ request: { method: 'POST', url: 'Patient' }, resource: patient(curp) })) });
    expect(res.statusCode, res.body).toBe(409);
    expect((await send(one, 'GET', `/fhir/Patient?identifier=${curpSystem}|${curp}`)).json().entry ?? []).toHaveLength(0);
  });
});

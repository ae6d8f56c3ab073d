/**
 * Set-based bundle writes and one-query matching (issue 21), through HTTP on
 * real PostgreSQL. Rows written by one statement share its
 * (sub)transaction id (xmin) and command id (cmin): that is how the tests see
 * "one statement" from outside.
 */
import { describe, expect, inject, test } from 'vitest';
import pg from 'pg';
import { curpCheckDigit } from '../../src/mx/curp.ts';
import { curpSystem } from '../../src/mx/systems.ts';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { mintToken } from '../support/tokens.ts';

const t = useTestApp();
const system = 'urn:oid:2.16.840.1.113883.4.642.97';

async function bundle(type: 'batch' | 'transaction', entry: unknown[], token?: string): Promise<any> {
  const res = await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: { resourceType: 'Bundle', type, entry }, ...(token ? { token } : {}) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const statuses = (b: any) => b.entry.map((e: any) => e.response.status.split(' ')[0]);
const idOf = (e: any) => e.response.location.split('/')[5] as string;

async function rowStamps(type: string, ids: string[]): Promise<{ xmin: string; cmin: string }[]> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT xmin::text AS xmin, cmin::text AS cmin FROM resource WHERE resource_type = $1 AND id = ANY($2::text[])', [type, ids]);
    return rows;
  } finally {
    await client.end();
  }
}

function curp(): string {
  const letters = 'BCDFGHJKLMNPQRSTVWXZ';
  const pick = () => letters.charAt(Math.floor(Math.random() * letters.length));
  const first17 = `GOMC850315HDF${pick()}${pick()}${pick()}0`;
  return first17 + curpCheckDigit(first17);
}

const observation = (tag: string, extra: Record<string, unknown> = {}) => ({ resourceType: 'Observation', status: 'final', code: { text: tag }, ...extra });

describe('batch: entries succeed or fail alone, the creates go out together', () => {
  test('an invalid entry and a create refused after writing (duplicate CURP) fail alone; the other creates are one statement with their index rows and audit', async () => {
    const tag = uniqueTag();
    const taken = curp();
    const first = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', identifier: [{ system: curpSystem, value: taken }], name: [{ family: tag }] } });
    expect(first.statusCode, first.body).toBe(201);
    const b = await bundle('batch', [
      { resource: observation(tag), request: { method: 'POST', url: 'Observation' } },
      { resource: observation(tag, { status: 'no-such-status' }), request: { method: 'POST', url: 'Observation' } },
      { resource: { resourceType: 'Patient', identifier: [{ system: curpSystem, value: taken }], name: [{ family: `${tag}-dup` }] }, request: { method: 'POST', url: 'Patient' } },
      { resource: observation(tag), request: { method: 'POST', url: 'Observation' } },
      { resource: observation(tag), request: { method: 'POST', url: 'Observation' } },
      { request: { method: 'GET', url: `Observation?code:text=${tag}` } },
    ]);
    const s = statuses(b);
    expect(s[0]).toBe('201');
    expect(s[1]).toMatch(/^4/);
    expect(s[2]).toMatch(/^4/);
    expect(s.slice(3)).toEqual(['201', '201', '200']);
    // The GET ran after the creates before it had been sent: it sees all three.
    expect(b.entry[5].resource.total ?? b.entry[5].resource.entry.length).toBe(3);
    const created = [0, 3, 4].map((i) => idOf(b.entry[i]));
    const stamps = await rowStamps('Observation', created);
    expect(stamps).toHaveLength(3);
    // Entries 3 and 4 went out in one statement (the GET sent them): same transaction and command ids, where one
    // write per entry (the old batch) gave each its own transaction. Entry 0 was sent before the guarded Patient entry.
    const later = await rowStamps('Observation', created.slice(1));
    expect(new Set(later.map((r) => `${r.xmin}/${r.cmin}`)).size).toBe(1);
    const found = await t.request({ method: 'GET', url: `/fhir/Observation?code:text=${tag}` });
    expect(found.json().entry.map((e: any) => e.resource.id).sort()).toEqual([...created].sort());
    const dup = await t.request({ method: 'GET', url: `/fhir/Patient?family=${tag}-dup` });
    expect(dup.json().entry ?? []).toHaveLength(0);
    for (const id of created) {
      const audit = await t.request({ method: 'GET', url: `/fhir/AuditEvent?entity=Observation/${id}` });
      expect(audit.json().entry?.length ?? 0, id).toBeGreaterThanOrEqual(1);
    }
  });

  test('ifNoneExist in a batch: existing matches answer 200, a create is matched by a later entry, two matches are 412, and a conditional reference sees the new one', async () => {
    const tag = uniqueTag();
    const location = (value: string) => ({ resourceType: 'Location', name: `${tag}-${value}`, identifier: [{ system, value: `${tag}-${value}` }] });
    const existing = await t.request({ method: 'POST', url: '/fhir/Location', headers: fhirJson, payload: location('a') });
    for (let i = 0; i < 2; i++) expect((await t.request({ method: 'POST', url: '/fhir/Location', headers: fhirJson, payload: location('twice') })).statusCode).toBe(201);
    const post = (value: string) => ({ resource: location(value), request: { method: 'POST', url: 'Location', ifNoneExist: `identifier=${system}|${tag}-${value}` } });
    const b = await bundle('batch', [
      post('a'),
      post('b'),
      post('b'),
      post('twice'),
      { resource: observation(tag, { subject: { reference: `Location?identifier=${system}|${tag}-b` } }), request: { method: 'POST', url: 'Observation' } },
      { resource: observation(tag, { subject: { reference: `Location?identifier=${system}|${tag}-none` } }), request: { method: 'POST', url: 'Observation' } },
    ]);
    expect(statuses(b)).toEqual(['200', '201', '200', '412', '201', '400']);
    expect(idOf(b.entry[0])).toBe(existing.json().id);
    const newB = idOf(b.entry[1]);
    expect(idOf(b.entry[2])).toBe(newB);
    const obs = await t.request({ method: 'GET', url: `/fhir/Observation/${idOf(b.entry[4])}` });
    expect(obs.json().subject.reference).toBe(`Location/${newB}`);
    const all = await t.request({ method: 'GET', url: `/fhir/Location?identifier=${system}|${tag}-b` });
    expect(all.json().entry).toHaveLength(1);
  });

  test('an update of a matched type inside the batch makes later entries match against the database again', async () => {
    const tag = uniqueTag();
    const created = await t.request({ method: 'POST', url: '/fhir/Location', headers: fhirJson, payload: { resourceType: 'Location', name: tag, identifier: [{ system, value: `${tag}-old` }] } });
    const id = created.json().id as string;
    const b = await bundle('batch', [
      { resource: { resourceType: 'Location', id, name: tag, identifier: [{ system, value: `${tag}-new` }] }, request: { method: 'PUT', url: `Location/${id}` } },
      { resource: { resourceType: 'Location', name: tag, identifier: [{ system, value: `${tag}-old` }] }, request: { method: 'POST', url: 'Location', ifNoneExist: `identifier=${system}|${tag}-old` } },
      { resource: { resourceType: 'Location', name: tag, identifier: [{ system, value: `${tag}-new` }] }, request: { method: 'POST', url: 'Location', ifNoneExist: `identifier=${system}|${tag}-new` } },
    ]);
    // The update moved the identifier: "old" matches nothing any more (a create), "new" matches the updated one.
    expect(statuses(b)).toEqual(['200', '201', '200']);
    expect(idOf(b.entry[2])).toBe(id);
  });
});

describe('a long batch commits every few hundred entries', () => {
  test('an entry after the first 250 matches (ifNoneExist) what an entry of the first 250 created', async () => {
    const tag = uniqueTag();
    const location = { resourceType: 'Location', name: tag, identifier: [{ system, value: tag }] };
    const entry = [
      { resource: location, request: { method: 'POST', url: 'Location' } },
      ...Array.from({ length: 260 }, () => ({ resource: observation(tag), request: { method: 'POST', url: 'Observation' } })),
      { resource: location, request: { method: 'POST', url: 'Location', ifNoneExist: `identifier=${system}|${tag}` } },
    ];
    const b = await bundle('batch', entry);
    expect(new Set(statuses(b).slice(0, -1))).toEqual(new Set(['201']));
    expect(statuses(b).at(-1)).toBe('200');
    expect(idOf(b.entry.at(-1))).toBe(idOf(b.entry[0]));
    const found = await t.request({ method: 'GET', url: `/fhir/Observation?code:text=${tag}&_summary=count` });
    expect(found.json().total).toBe(260);
  });
});

describe('transaction: creates in one statement, criteria in one query', () => {
  test('a transaction’s plain creates share one statement, and its conditional references resolve', async () => {
    const tag = uniqueTag();
    const loc = await t.request({ method: 'POST', url: '/fhir/Location', headers: fhirJson, payload: { resourceType: 'Location', name: tag, identifier: [{ system, value: tag }] } });
    const entry = Array.from({ length: 5 }, () => ({ resource: observation(tag, { subject: { reference: `Location?identifier=${system}|${tag}` } }), request: { method: 'POST', url: 'Observation' } }));
    const b = await bundle('transaction', entry);
    expect(statuses(b)).toEqual(['201', '201', '201', '201', '201']);
    const ids = b.entry.map(idOf);
    const stamps = await rowStamps('Observation', ids);
    expect(new Set(stamps.map((r) => `${r.xmin}/${r.cmin}`)).size).toBe(1);
    const read = await t.request({ method: 'GET', url: `/fhir/Observation/${ids[0]}` });
    expect(read.json().subject.reference).toBe(`Location/${loc.json().id}`);
  });

  test('an in-person Encounter has no consent to check and shares the statement; a virtual one without consent still fails the transaction', async () => {
    const tag = uniqueTag();
    const patient = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: tag }] } });
    const subject = { reference: `Patient/${patient.json().id}` };
    const encounter = (code: string) => ({ resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code }, subject });
    const entry = [observation(tag, { subject }), encounter('AMB'), observation(tag, { subject })].map((resource) => ({ resource, request: { method: 'POST', url: resource.resourceType } }));
    const b = await bundle('transaction', entry);
    expect(statuses(b)).toEqual(['201', '201', '201']);
    const ids = b.entry.map(idOf);
    // Before, the Encounter's write hook sent it alone and the creates before it in a statement of their own.
    const stamps = [...(await rowStamps('Observation', [ids[0], ids[2]])), ...(await rowStamps('Encounter', [ids[1]]))];
    expect(stamps).toHaveLength(3);
    expect(new Set(stamps.map((r) => `${r.xmin}/${r.cmin}`)).size).toBe(1);
    const virtual = await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: { resourceType: 'Bundle', type: 'transaction', entry: [entry[0], { resource: encounter('VR'), request: { method: 'POST', url: 'Encounter' } }] } });
    expect(virtual.statusCode).toBe(422);
  });
});

describe('the one-query match keeps the readable set', () => {
  test('a patient token’s ifNoneExist and conditional reference do not match another patient’s resource', async () => {
    const tag = uniqueTag();
    const mine = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: `${tag}-mine` }] } });
    const other = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: `${tag}-other` }], identifier: [{ system, value: `${tag}-other` }] } });
    const theirs = await t.request({
      method: 'POST',
      url: '/fhir/Observation',
      headers: fhirJson,
      payload: observation(tag, { identifier: [{ system, value: tag }], subject: { reference: `Patient/${other.json().id}` } }),
    });
    expect(theirs.statusCode).toBe(201);
    const token = await mintToken({ claims: { scope: 'patient/*.cruds', patient: mine.json().id }, sub: `p-${tag}` });
    const b = await bundle(
      'batch',
      [
        { resource: observation(tag, { identifier: [{ system, value: tag }], subject: { reference: `Patient/${mine.json().id}` } }), request: { method: 'POST', url: 'Observation', ifNoneExist: `identifier=${system}|${tag}` } },
        { resource: observation(tag, { subject: { reference: `Patient?identifier=${system}|${tag}-other` } }), request: { method: 'POST', url: 'Observation' } },
      ],
      token,
    );
    expect(statuses(b)[0]).toBe('201');
    expect(idOf(b.entry[0])).not.toBe(theirs.json().id);
    expect(statuses(b)[1]).toMatch(/^4/);
    expect(JSON.stringify(b)).not.toContain(other.json().id);
    expect(JSON.stringify(b)).not.toContain(theirs.json().id);
  });
});

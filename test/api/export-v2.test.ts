/**
 * Bulk Data Access IG v2 kick-off points beyond the basics of export.test.ts:
 * POST kick-off with a Parameters body at system, Patient and Group level,
 * the `patient` parameter, `_since` in the future, the Accept rule, strict
 * vs lenient handling of unsupported parameters, and the 405 of the routes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';

const exportDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-test-exports-v2-'));
const t = useTestApp({ exportDir });
/** A database of its own, so that holding its `resource` table keeps a job running without stopping anyone else. */
const own = useTestApp({ exportDir, ownDatabase: true });
afterAll(async () => {
  await rm(exportDir, { recursive: true, force: true });
});

const async = { prefer: 'respond-async', accept: 'application/fhir+json' };
const relative = (url: string) => url.slice(url.indexOf('/fhir/'));

async function create(resource: Record<string, unknown>): Promise<string> {
  const res = await t.request({ method: 'POST', url: `/fhir/${String(resource.resourceType)}`, headers: fhirJson, payload: resource });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function patientWithObservation(tag: string): Promise<{ patient: string; observation: string }> {
  const patient = await create({ resourceType: 'Patient', name: [{ family: tag }] });
  const observation = await create({ resourceType: 'Observation', status: 'final', code: { text: tag }, subject: { reference: `Patient/${patient}` } });
  return { patient, observation };
}

async function exported(kick: { statusCode: number; body: string; headers: Record<string, unknown> }): Promise<{ keys: string[]; manifest: { request: string; error: unknown[] } }> {
  expect(kick.statusCode, kick.body).toBe(202);
  const status = relative(String(kick.headers['content-location']));
  for (let i = 0; i < 300; i++) {
    const res = await t.request({ method: 'GET', url: status });
    if (res.statusCode === 200) {
      const manifest = res.json();
      const keys: string[] = [];
      for (const file of manifest.output as { url: string }[]) {
        const body = (await t.request({ method: 'GET', url: relative(file.url) })).body;
        for (const line of body.split('\n').filter(Boolean)) {
          const r = JSON.parse(line);
          keys.push(`${r.resourceType}/${r.id}`);
        }
      }
      return { keys, manifest };
    }
    expect(res.statusCode, res.body).toBe(202);
    expect(res.headers['x-progress']).toBeTruthy();
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('export did not finish');
}

function parameters(...parameter: Record<string, unknown>[]) {
  return { resourceType: 'Parameters', parameter };
}

describe('POST kick-off with a Parameters body', () => {
  test('system level: _type and _since from the body bound the export', async () => {
    const old = await patientWithObservation(uniqueTag());
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date().toISOString();
    const recent = await patientWithObservation(uniqueTag());
    const kick = await t.request({ method: 'POST', url: '/fhir/$export', headers: { ...async, ...fhirJson }, payload: parameters({ name: '_type', valueString: 'Observation' }, { name: '_since', valueInstant: since }) });
    const { keys } = await exported(kick);
    expect(keys).toContain(`Observation/${recent.observation}`);
    expect(keys).not.toContain(`Observation/${old.observation}`);
    expect(keys.some((k) => k.startsWith('Patient/'))).toBe(false);
  });

  test('Patient level: the patient parameter limits the export to those patients', async () => {
    const since = new Date().toISOString();
    const wanted = await patientWithObservation(uniqueTag());
    const other = await patientWithObservation(uniqueTag());
    const kick = await t.request({
      method: 'POST',
      url: '/fhir/Patient/$export',
      headers: { ...async, ...fhirJson },
      payload: parameters({ name: '_since', valueInstant: since }, { name: 'patient', valueReference: { reference: `Patient/${wanted.patient}` } }),
    });
    const { keys } = await exported(kick);
    expect(keys.sort()).toEqual([`Observation/${wanted.observation}`, `Patient/${wanted.patient}`].sort());
    expect(keys).not.toContain(`Patient/${other.patient}`);
  });

  test('Group level: patient narrows to members; a non-member named is simply not exported', async () => {
    const a = await patientWithObservation(uniqueTag());
    const b = await patientWithObservation(uniqueTag());
    const outsider = await patientWithObservation(uniqueTag());
    const group = await create({ resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${a.patient}` } }, { entity: { reference: `Patient/${b.patient}` } }] });
    const kick = await t.request({
      method: 'POST',
      url: `/fhir/Group/${group}/$export`,
      headers: { ...async, ...fhirJson },
      payload: parameters({ name: 'patient', valueReference: { reference: `Patient/${a.patient}` } }, { name: 'patient', valueReference: { reference: `Patient/${outsider.patient}` } }),
    });
    const { keys } = await exported(kick);
    expect(keys).toContain(`Patient/${a.patient}`);
    expect(keys).not.toContain(`Patient/${b.patient}`);
    expect(keys).not.toContain(`Patient/${outsider.patient}`);
  });

  test('a body that is not Parameters, or a parameter without a usable value, is a 400', async () => {
    const notParameters = await t.request({ method: 'POST', url: '/fhir/$export', headers: { ...async, ...fhirJson }, payload: { resourceType: 'Patient' } });
    expect(notParameters.statusCode).toBe(400);
    const noValue = await t.request({ method: 'POST', url: '/fhir/$export', headers: { ...async, ...fhirJson }, payload: parameters({ name: '_type' }) });
    expect(noValue.statusCode).toBe(400);
    expect(noValue.json().issue[0].expression).toEqual(['Parameters.parameter[0]']);
  });
});

describe('status polling', () => {
  test('202 with X-Progress and a numeric Retry-After while the job runs (held here by a lock on its table), then 200 with the manifest', async () => {
    const created = await own.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: uniqueTag() }] } });
    expect(created.statusCode).toBe(201);
    const lock = new pg.Client({ connectionString: own.databaseUrl });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE resource IN ACCESS EXCLUSIVE MODE');
      const kick = await own.request({ method: 'GET', url: '/fhir/$export?_type=Patient', headers: async });
      expect(kick.statusCode, kick.body).toBe(202);
      const status = relative(String(kick.headers['content-location']));
      for (let i = 0; i < 3; i++) {
        const res = await own.request({ method: 'GET', url: status });
        expect(res.statusCode).toBe(202);
        expect(String(res.headers['x-progress']).length).toBeGreaterThan(0);
        expect(String(res.headers['x-progress']).length).toBeLessThan(100);
        expect(res.headers['retry-after']).toMatch(/^\d+$/);
        await new Promise((r) => setTimeout(r, 100));
      }
      await lock.query('ROLLBACK');
      let done: { output: unknown[] } | undefined;
      for (let i = 0; i < 300 && !done; i++) {
        const res = await own.request({ method: 'GET', url: status });
        if (res.statusCode === 200) done = res.json();
        else await new Promise((r) => setTimeout(r, 50));
      }
      expect(done?.output).toEqual([expect.objectContaining({ type: 'Patient', count: 1 })]);
    } finally {
      await lock.end();
    }
  });
});

describe('kick-off rules', () => {
  test('GET with patient at Patient level works; at system level it is a 400', async () => {
    const since = new Date().toISOString();
    const wanted = await patientWithObservation(uniqueTag());
    const { keys } = await exported(await t.request({ method: 'GET', url: `/fhir/Patient/$export?_since=${encodeURIComponent(since)}&patient=Patient/${wanted.patient}`, headers: async }));
    expect(keys.sort()).toEqual([`Observation/${wanted.observation}`, `Patient/${wanted.patient}`].sort());
    const system = await t.request({ method: 'GET', url: `/fhir/$export?patient=Patient/${wanted.patient}`, headers: async });
    expect(system.statusCode).toBe(400);
    expect(system.json().issue[0].expression).toEqual(['patient']);
  });

  test('_since in the future is a 400', async () => {
    const future = new Date(Date.now() + 3600_000).toISOString();
    const res = await t.request({ method: 'GET', url: `/fhir/$export?_type=Patient&_since=${encodeURIComponent(future)}`, headers: async });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].expression).toEqual(['_since']);
  });

  test('Accept other than application/fhir+json is a 400', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/$export?_type=Patient', headers: { prefer: 'respond-async', accept: 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].expression).toEqual(['Accept']);
    const ndjson = await t.request({ method: 'GET', url: '/fhir/$export?_type=Patient', headers: { prefer: 'respond-async', accept: 'application/fhir+ndjson' } });
    expect(ndjson.statusCode).toBe(400);
  });

  test('what the server cannot honour (a parameter, an _elements entry, an includeAssociatedData value): 400 naming it under strict handling; under lenient, left out and listed in the manifest error', async () => {
    for (const p of ['organizeOutputBy=Patient', 'allowPartialManifests=true', '_elements=Patient.nope', 'includeAssociatedData=_custom']) {
      const strict = await t.request({ method: 'GET', url: `/fhir/$export?_type=Patient&${p}`, headers: { ...async, prefer: 'respond-async, handling=strict' } });
      expect(strict.statusCode, p).toBe(400);
      expect(strict.json().issue[0].code).toBe('not-supported');
      expect(strict.json().issue[0].expression).toEqual([p.split('=')[0]]);
      const lenient = await t.request({ method: 'GET', url: `/fhir/$export?_type=Patient&_since=${encodeURIComponent(new Date().toISOString())}&${p}`, headers: { ...async, prefer: 'respond-async, handling=lenient' } });
      const { manifest } = await exported(lenient);
      // The manifest's error entry: an NDJSON file with an OperationOutcome naming the ignored parameter.
      expect(manifest.error).toHaveLength(1);
      const entry = manifest.error[0] as { type: string; url: string };
      expect(entry.type).toBe('OperationOutcome');
      const file = await t.request({ method: 'GET', url: relative(entry.url) });
      expect(file.statusCode).toBe(200);
      expect(file.headers['content-type']).toMatch(/^application\/fhir\+ndjson/);
      const oo = JSON.parse(file.body.trim());
      expect(oo.issue[0]).toMatchObject({ severity: 'warning', code: 'not-supported', expression: [p.split('=')[0]] });
      expect((await t.request({ method: 'GET', url: relative(entry.url), token: null })).statusCode).toBe(401);
    }
    // Without ignored parameters the error list is empty (and the file does not exist).
    const plain = await exported(await t.request({ method: 'GET', url: `/fhir/$export?_type=Patient&_since=${encodeURIComponent(new Date().toISOString())}`, headers: async }));
    expect(plain.manifest.error).toEqual([]);
  });

  test('a method the route does not have is a 405 listing the ones it has', async () => {
    // HEAD comes with every GET route (Fastify).
    for (const [url, allow] of [['/fhir/$export', 'GET, HEAD, POST'], ['/fhir/Patient/$export', 'GET, HEAD, POST'], ['/fhir/Group/g1/$export', 'GET, HEAD, POST'], ['/fhir/$export-status/00000000-0000-0000-0000-000000000000', 'DELETE, GET, HEAD']] as const) {
      const res = await t.request({ method: 'PUT', url, headers: fhirJson, payload: {} });
      expect(res.statusCode, url).toBe(405);
      expect(res.headers.allow, url).toBe(allow);
    }
  });
});

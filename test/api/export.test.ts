/**
 * Bulk Data export through HTTP: kick-off, polling, download, cancel; _type
 * and _since; patient tokens held to their compartment; Group export; only
 * the starting subject may poll or download; status kept in the database.
 * The test database is shared with other files: every check is bounded by
 * _type + _since, a patient token, or a Group of this test's own patients.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { decodeJwt } from 'jose';
import { actorFromClaims } from '../../src/auth/actor.ts';
import { exportOwner } from '../../src/export/export-owner.ts';
import { connect } from '../../src/store/connect.ts';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { adminToken, roleToken, testAuth } from '../support/tokens.ts';

const exportDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-test-exports-'));
const t = useTestApp({ exportDir });
afterAll(async () => {
  await rm(exportDir, { recursive: true, force: true });
});

const async = { prefer: 'respond-async', accept: 'application/fhir+json' };
const relative = (url: string) => url.slice(url.indexOf('/fhir/'));

async function create(resource: Record<string, unknown>): Promise<{ id: string; resourceType: string; meta: { lastUpdated: string } }> {
  const res = await t.request({ method: 'POST', url: `/fhir/${String(resource.resourceType)}`, headers: fhirJson, payload: resource });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function patientWithRecord(tag: string, observations = 2): Promise<{ patient: string; all: string[] }> {
  const p = await create({ resourceType: 'Patient', name: [{ family: tag }] });
  const all = [`Patient/${p.id}`];
  for (let i = 0; i < observations; i++) {
    const o = await create({ resourceType: 'Observation', status: 'final', code: { text: `${tag}-${i}` }, subject: { reference: `Patient/${p.id}` } });
    all.push(`Observation/${o.id}`);
  }
  const e = await create({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${p.id}` } });
  all.push(`Encounter/${e.id}`);
  return { patient: p.id, all };
}

async function kickOff(url: string, token = adminToken): Promise<string> {
  const res = await t.request({ method: 'GET', url, headers: async, token });
  expect(res.statusCode, res.body).toBe(202);
  const location = res.headers['content-location'] as string;
  expect(location).toMatch(/\/fhir\/\$export-status\/[0-9a-f-]{36}$/);
  return relative(location);
}

interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: unknown[];
}

async function poll(status: string, token = adminToken): Promise<Manifest> {
  for (let i = 0; i < 300; i++) {
    const res = await t.request({ method: 'GET', url: status, token });
    if (res.statusCode === 200) {
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      return res.json();
    }
    expect(res.statusCode, res.body).toBe(202);
    expect(res.headers['x-progress']).toBeTruthy();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`export ${status} did not finish`);
}

/** Every exported resource, as `Type/id`, with its JSON; checks each file against its manifest line. */
async function download(manifest: Manifest, token = adminToken): Promise<{ keys: string[]; resources: any[] }> {
  const resources: any[] = [];
  for (const file of manifest.output) {
    const res = await t.request({ method: 'GET', url: relative(file.url), headers: { accept: 'application/fhir+ndjson' }, token });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+ndjson/);
    const lines = res.body.split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(file.count);
    for (const line of lines) {
      const resource = JSON.parse(line);
      expect(resource.resourceType).toBe(file.type);
      resources.push(resource);
    }
  }
  return { keys: resources.map((r) => `${r.resourceType}/${r.id}`), resources };
}

async function exportAll(url: string, token = adminToken) {
  const manifest = await poll(await kickOff(url, token), token);
  return { manifest, ...(await download(manifest, token)) };
}

describe('system-level $export', () => {
  test('kick-off, poll, download: _type and _since honoured, each resource exactly once, manifest as the IG says', async () => {
    const before = await patientWithRecord(uniqueTag());
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date().toISOString();
    const after = await patientWithRecord(uniqueTag(), 3);
    const url = `/fhir/$export?_type=Patient,Observation&_since=${encodeURIComponent(since)}`;
    const { manifest, keys, resources } = await exportAll(url);
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.request).toMatch(/\/fhir\/\$export\?_type=Patient%2CObservation&_since=/);
    expect(manifest.error).toEqual([]);
    expect(Date.parse(manifest.transactionTime)).toBeGreaterThan(0);
    expect(new Set(manifest.output.map((o) => o.type))).toEqual(new Set(['Patient', 'Observation']));
    // Exactly once: no duplicates anywhere, and all of this test's recent Patient and Observations present.
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of after.all.filter((k) => !k.startsWith('Encounter/'))) expect(keys).toContain(key);
    // _type: no Encounter; _since: nothing of the earlier patient, nothing older than _since.
    expect(keys.some((k) => k.startsWith('Encounter/'))).toBe(false);
    for (const key of before.all) expect(keys).not.toContain(key);
    for (const r of resources) expect(Date.parse(r.meta.lastUpdated)).toBeGreaterThanOrEqual(Date.parse(since));
  });

  test('the status, the files and cancel belong to the subject that started the export', async () => {
    const since = new Date().toISOString();
    await patientWithRecord(uniqueTag(), 1);
    const status = await kickOff(`/fhir/$export?_type=Patient&_since=${encodeURIComponent(since)}`);
    const manifest = await poll(status);
    const other = await roleToken('admin', {}, `someone-else-${uniqueTag()}`);
    expect((await t.request({ method: 'GET', url: status, token: other })).statusCode).toBe(403);
    expect((await t.request({ method: 'DELETE', url: status, token: other })).statusCode).toBe(403);
    const file = relative(manifest.output[0]!.url);
    expect((await t.request({ method: 'GET', url: file, token: other })).statusCode).toBe(403);
    expect((await t.request({ method: 'GET', url: file, token: null })).statusCode).toBe(401);
    // A name the job did not write cannot be reached, whatever it looks like.
    const id = status.split('/').pop()!;
    expect((await t.request({ method: 'GET', url: `/fhir/$export-file/${id}.Patient-99.ndjson` })).statusCode).toBe(404);
    expect((await t.request({ method: 'GET', url: `/fhir/$export-file/${id}.%2E%2E%2Fx` })).statusCode).toBe(404);
  });

  test('DELETE cancels: 202, files removed, later polls 404', async () => {
    const since = new Date().toISOString();
    await patientWithRecord(uniqueTag(), 1);
    const status = await kickOff(`/fhir/$export?_type=Patient,Observation&_since=${encodeURIComponent(since)}`);
    const id = status.split('/').pop()!;
    await poll(status);
    expect(existsSync(path.join(exportDir, id))).toBe(true);
    const res = await t.request({ method: 'DELETE', url: status });
    expect(res.statusCode, res.body).toBe(202);
    expect(existsSync(path.join(exportDir, id))).toBe(false);
    expect((await t.request({ method: 'GET', url: status })).statusCode).toBe(404);
    expect((await t.request({ method: 'DELETE', url: status })).statusCode).toBe(404);
  });

  test('cancelling a job still running stops it and leaves nothing behind', async () => {
    const status = await kickOff('/fhir/$export?_type=Patient,Observation,Encounter');
    const id = status.split('/').pop()!;
    expect((await t.request({ method: 'DELETE', url: status })).statusCode).toBe(202);
    expect((await t.request({ method: 'GET', url: status })).statusCode).toBe(404);
    expect(existsSync(path.join(exportDir, id))).toBe(false);
  });

  test('kick-off errors: no Prefer: respond-async, unknown _type, unsupported parameter, bad _outputFormat, unreadable type', async () => {
    const plain = await t.request({ method: 'GET', url: '/fhir/$export?_type=Patient' });
    expect(plain.statusCode).toBe(400);
    expect(plain.json().issue[0].expression).toEqual(['Prefer']);
    expect((await t.request({ method: 'GET', url: '/fhir/$export?_type=Nope', headers: async })).statusCode).toBe(400);
    expect((await t.request({ method: 'GET', url: '/fhir/$export?organizeOutputBy=Patient', headers: async })).statusCode).toBe(400);
    expect((await t.request({ method: 'GET', url: '/fhir/$export?_outputFormat=text/csv', headers: async })).statusCode).toBe(400);
    const pharmacy = await roleToken('pharmacy');
    const refused = await t.request({ method: 'GET', url: '/fhir/$export?_type=Observation', headers: async, token: pharmacy });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().issue[0].expression).toEqual(['_type']);
  });
});

describe('Patient- and Group-level $export', () => {
  test('a patient token exports its own compartment and nothing else', async () => {
    const mine = await patientWithRecord(uniqueTag(), 2);
    const other = await patientWithRecord(uniqueTag(), 2);
    const token = await roleToken('patient', { patient: mine.patient }, `paciente-${mine.patient}`);
    const { keys, resources } = await exportAll('/fhir/Patient/$export', token);
    expect(keys.sort()).toEqual([...mine.all].sort());
    for (const key of other.all) expect(keys).not.toContain(key);
    for (const r of resources) expect(r.resourceType === 'Patient' ? r.id : r.subject.reference).toMatch(new RegExp(`${mine.patient}$`));
    // The same token cannot ask for a system-wide export of types outside its compartment rules, nor see another's group.
    const system = await exportAll('/fhir/$export?_type=Patient', token);
    expect(system.keys).toEqual([`Patient/${mine.patient}`]);
  });

  test('Group/{id}/$export exports the members’ compartments only; _type narrows it', async () => {
    const a = await patientWithRecord(uniqueTag(), 2);
    const b = await patientWithRecord(uniqueTag(), 1);
    const outsider = await patientWithRecord(uniqueTag(), 1);
    const group = await create({
      resourceType: 'Group',
      type: 'person',
      actual: true,
      member: [{ entity: { reference: `Patient/${a.patient}` } }, { entity: { reference: `Patient/${b.patient}` } }, { entity: { reference: `Patient/${outsider.patient}` }, inactive: true }],
    });
    const { manifest, keys } = await exportAll(`/fhir/Group/${group.id}/$export`);
    // The Group itself is in its members' compartments (R4 CompartmentDefinition: Group.member).
    expect(keys.sort()).toEqual([...a.all, ...b.all, `Group/${group.id}`].sort());
    expect(manifest.request).toContain(`/Group/${group.id}/$export`);
    const narrowed = await exportAll(`/fhir/Group/${group.id}/$export?_type=Encounter`);
    expect(narrowed.keys.sort()).toEqual([...a.all, ...b.all].filter((k) => k.startsWith('Encounter/')).sort());
    expect((await t.request({ method: 'GET', url: '/fhir/Group/no-such-group/$export', headers: async })).statusCode).toBe(404);
  });
});

describe('jobs live in the database', () => {
  test('a completed job is still served by a new server process; an interrupted one reads as failed', async () => {
    const since = new Date().toISOString();
    const p = await patientWithRecord(uniqueTag(), 1);
    const status = await kickOff(`/fhir/$export?_type=Patient&_since=${encodeURIComponent(since)}`);
    await poll(status);
    const restarted = await buildApp({ databaseUrl: inject('databaseUrl'), logger: false, auth: testAuth, rateLimitPerMinute: 0, exportDir });
    try {
      const res = await restarted.inject({ method: 'GET', url: status, headers: { authorization: `Bearer ${adminToken}` } });
      expect(res.statusCode).toBe(200);
      const file = res.json().output[0].url as string;
      const body = (await restarted.inject({ method: 'GET', url: relative(file), headers: { authorization: `Bearer ${adminToken}` } })).body;
      expect(body).toContain(p.patient);
    } finally {
      await restarted.close();
    }
    // A job left in progress by a process that stopped heartbeating.
    const db = connect({ databaseUrl: inject('databaseUrl'), maxConnections: 1 });
    const id = randomUUID();
    try {
      await sql`INSERT INTO export_job (id, status, level, request, owner, access, heartbeat_at)
        VALUES (${id}, 'in-progress', 'system', 'x', ${exportOwner(actorFromClaims(decodeJwt(adminToken)))}, '{}'::jsonb, now() - interval '1 hour')`.execute(db);
    } finally {
      await db.destroy();
    }
    const failed = await t.request({ method: 'GET', url: `/fhir/$export-status/${id}` });
    expect(failed.statusCode).toBe(500);
    expect(failed.json().issue[0].details.text).toMatch(/interrupted/);
  });
});

describe('jobs survive their runner (issue 14)', () => {
  test('a job whose runner died is marked failed within seconds, with no status read, and its partial files are deleted', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const db = connect({ databaseUrl: inject('databaseUrl'), maxConnections: 1 });
    const id = randomUUID();
    const folder = path.join(exportDir, id);
    try {
      // What a kill -9 leaves: the row in progress with a lease just renewed, and a half-written file.
      await sql`INSERT INTO export_job (id, status, level, request, owner, access, heartbeat_at)
        VALUES (${id}, 'in-progress', 'system', 'x', ${exportOwner(actorFromClaims(decodeJwt(adminToken)))}, '{}'::jsonb, now())`.execute(db);
      await mkdir(folder, { recursive: true });
      await writeFile(path.join(folder, 'Patient-1.ndjson'), '{"resourceType":"Patient","id":"half');
      const started = Date.now();
      let status = 'in-progress';
      while (status === 'in-progress' && Date.now() - started < 20_000) {
        await new Promise((r) => setTimeout(r, 250));
        status = (await sql<{ status: string }>`SELECT status FROM export_job WHERE id = ${id}`.execute(db)).rows[0]!.status;
      }
      const seconds = (Date.now() - started) / 1000;
      expect(status).toBe('failed');
      // Lease 10 s, swept every 2 s: well under the minute it used to take.
      expect(seconds).toBeLessThan(15);
      await new Promise((r) => setTimeout(r, 200));
      expect(existsSync(folder)).toBe(false);
    } finally {
      await db.destroy();
    }
    const res = await t.request({ method: 'GET', url: `/fhir/$export-status/${id}` });
    expect(res.statusCode).toBe(500);
    expect(res.json().issue[0].details.text).toMatch(/interrupted/);
  });

  test('a restarted process removes the folders of jobs that are no longer running', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const db = connect({ databaseUrl: inject('databaseUrl'), maxConnections: 1 });
    const id = randomUUID();
    const folder = path.join(exportDir, id);
    try {
      await sql`INSERT INTO export_job (id, status, level, request, owner, access, heartbeat_at)
        VALUES (${id}, 'failed', 'system', 'x', ${exportOwner(actorFromClaims(decodeJwt(adminToken)))}, '{}'::jsonb, now() - interval '1 hour')`.execute(db);
    } finally {
      await db.destroy();
    }
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'Observation-1.ndjson'), '{"resourceType":"Obs');
    const restarted = await buildApp({ databaseUrl: inject('databaseUrl'), logger: false, auth: testAuth, rateLimitPerMinute: 0, exportDir });
    await restarted.close();
    expect(existsSync(folder)).toBe(false);
  });
});

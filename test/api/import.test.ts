/**
 * Bulk import through HTTP on a database of its own (another file's server
 * would otherwise resume this file's abandoned jobs): NDJSON uploaded or
 * fetched from an allowed URL, validated and indexed like REST writes,
 * conditional references resolved, a per-line error report, who may import,
 * and restarts: a job abandoned by a dead instance is resumed by another
 * exactly from where it stopped, or fails cleanly when its upload is gone.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { buildApp, type AppOptions } from '../../src/app.ts';
import { createOwnDatabase } from '../support/own-database.ts';
import { adminToken, roleToken, testAuth } from '../support/tokens.ts';
import { uniqueTag } from '../support/app.ts';

const ndjson = { 'content-type': 'application/fhir+ndjson', prefer: 'respond-async' };
const relative = (url: string) => url.slice(url.indexOf('/fhir/'));
const apps: FastifyInstance[] = [];
const dirs: string[] = [];
let databaseUrl = '';
let files: Server;
let filesBase = '';
const served = new Map<string, string>();

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ecu-test-imports-'));
  dirs.push(dir);
  return dir;
}

async function start(options: Partial<AppOptions> = {}, url = databaseUrl): Promise<FastifyInstance> {
  const app = await buildApp({ databaseUrl: url, logger: false, auth: testAuth, rateLimitPerMinute: 0, profileEnforcement: 'declared', importAllowedSources: [`${filesBase}/ndjson/`], ...options });
  apps.push(app);
  return app;
}

function call(app: FastifyInstance, o: InjectOptions & { token?: string }) {
  const { token, ...rest } = o;
  return app.inject({ ...rest, headers: { authorization: `Bearer ${token ?? adminToken}`, ...(rest.headers as Record<string, string>) } });
}

let main: FastifyInstance;

beforeAll(async () => {
  databaseUrl = await createOwnDatabase(inject('databaseUrl'));
  files = createServer((req, res) => {
    const body = served.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/fhir+ndjson' }).end(body);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  const address = files.address();
  filesBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  main = await start({ importDir: await tempDir() });
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await new Promise((resolve) => files.close(resolve));
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function kickOff(app: FastifyInstance, payload: string, headers: Record<string, string> = ndjson, token?: string): Promise<string> {
  const res = await call(app, { method: 'POST', url: '/fhir/$import', headers, payload, token });
  expect(res.statusCode, res.body).toBe(202);
  const location = res.headers['content-location'] as string;
  expect(location).toMatch(/\/fhir\/\$import-status\/[0-9a-f-]{36}$/);
  return relative(location);
}

interface Manifest {
  output: { type: string; count: number }[];
  error: { type: string; url: string; count: number }[];
}

async function poll(app: FastifyInstance, status: string, tries = 600, token?: string): Promise<Manifest> {
  for (let i = 0; i < tries; i++) {
    const res = await call(app, { method: 'GET', url: status, token });
    if (res.statusCode === 200) return res.json();
    expect(res.statusCode, res.body).toBe(202);
    expect(res.headers['x-progress']).toMatch(/importados/);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`import ${status} did not finish`);
}

function lines(resources: unknown[]): string {
  return `${resources.map((r) => JSON.stringify(r)).join('\n')}\n`;
}

const system = 'urn:oid:2.16.840.1.113883.4.642.99';

describe('$import', () => {
  test('uploaded NDJSON: valid lines stored with their index rows, conditional references resolved, bad lines reported by line', async () => {
    const tag = uniqueTag();
    const patientId = randomUUID();
    const body = [
      JSON.stringify({ resourceType: 'Patient', id: patientId, identifier: [{ system, value: `${tag}-p` }], name: [{ family: tag }] }),
      '{ not json',
      JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: tag }, subject: { reference: `Patient?identifier=${system}|${tag}-p` } }),
      '',
      JSON.stringify({ resourceType: 'Patient', gender: 'sometimes', name: [{ family: tag }] }),
      JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: tag }, subject: { reference: `Patient?identifier=${system}|${tag}-nobody` } }),
      // Written by hand: a decimal's precision (1.50) is kept as sent.
      `{"resourceType":"Observation","status":"final","code":{"text":"${tag}"},"subject":{"reference":"Patient/${patientId}"},"valueQuantity":{"value":1.50}}`,
    ].join('\n');
    const manifest = await poll(main, await kickOff(main, body));
    expect(manifest.output).toEqual([{ type: 'Observation', count: 2 }, { type: 'Patient', count: 1 }]);
    expect(manifest.error).toHaveLength(1);
    expect(manifest.error[0]?.count).toBe(3);

    const report = await call(main, { method: 'GET', url: relative(manifest.error[0]!.url) });
    expect(report.statusCode).toBe(200);
    expect(report.headers['content-type']).toMatch(/^application\/fhir\+ndjson/);
    const outcomes = report.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(outcomes.map((o) => o.resourceType)).toEqual(['OperationOutcome', 'OperationOutcome', 'OperationOutcome']);
    expect(outcomes.map((o) => o.issue[0].details.text)).toEqual([expect.stringMatching(/línea 2: .*no es JSON/), expect.stringMatching(/línea 5: /), expect.stringMatching(/línea 6: .*no coincide/)]);

    // Stored with index rows: found by identifier and by reference, the conditional reference rewritten.
    const byIdentifier = await call(main, { method: 'GET', url: `/fhir/Patient?identifier=${encodeURIComponent(`${system}|${tag}-p`)}` });
    expect(byIdentifier.json().entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([patientId]);
    const observations = await call(main, { method: 'GET', url: `/fhir/Observation?subject=Patient/${patientId}` });
    expect(observations.json().entry).toHaveLength(2);
    for (const e of observations.json().entry) expect(e.resource.subject.reference).toBe(`Patient/${patientId}`);
    expect(observations.body).toContain('"value":1.50');
    const invalid = await call(main, { method: 'GET', url: `/fhir/Patient?family=${tag}` });
    expect(invalid.json().entry).toHaveLength(1);
    // The write is audited as the importing caller.
    const audit = await call(main, { method: 'GET', url: `/fhir/AuditEvent?entity=Patient/${patientId}` });
    expect(audit.json().entry?.length).toBeGreaterThanOrEqual(1);
  });

  test('URL sources from the allow-list are fetched; lines keep their ids; a second import of the same lines updates them', async () => {
    const tag = uniqueTag();
    const ids = [randomUUID(), randomUUID()];
    served.set(`/ndjson/${tag}.ndjson`, lines(ids.map((id) => ({ resourceType: 'Patient', id, name: [{ family: tag }] }))));
    const parameters = {
      resourceType: 'Parameters',
      parameter: [{ name: 'inputFormat', valueString: 'application/fhir+ndjson' }, { name: 'input', part: [{ name: 'type', valueCode: 'Patient' }, { name: 'url', valueUri: `${filesBase}/ndjson/${tag}.ndjson` }] }],
    };
    const headers = { 'content-type': 'application/fhir+json', prefer: 'respond-async' };
    const first = await poll(main, await kickOff(main, JSON.stringify(parameters), headers));
    expect(first.output).toEqual([{ type: 'Patient', count: 2 }]);
    expect(first.error).toEqual([]);
    await poll(main, await kickOff(main, JSON.stringify(parameters), headers));
    for (const id of ids) {
      const read = await call(main, { method: 'GET', url: `/fhir/Patient/${id}` });
      expect(read.statusCode).toBe(200);
      expect(read.json().meta.versionId).toBe('2');
    }
  });

  test('one chunk naming an id twice, and an id already stored: versions follow in line order (the chunk reads its versions together)', async () => {
    const tag = uniqueTag();
    const [twice, stored] = [randomUUID(), randomUUID()];
    const put = await call(main, { method: 'PUT', url: `/fhir/Patient/${stored}`, headers: { 'content-type': 'application/fhir+json' }, payload: { resourceType: 'Patient', id: stored, name: [{ family: `${tag}-0` }] } });
    expect(put.statusCode, put.body).toBe(201);
    const body = lines([
      { resourceType: 'Patient', id: twice, name: [{ family: `${tag}-1` }] },
      { resourceType: 'Patient', id: stored, name: [{ family: `${tag}-2` }] },
      { resourceType: 'Patient', id: twice, name: [{ family: `${tag}-3` }] },
    ]);
    const manifest = await poll(main, await kickOff(main, body));
    expect(manifest.error).toEqual([]);
    const a = (await call(main, { method: 'GET', url: `/fhir/Patient/${twice}` })).json();
    expect([a.meta.versionId, a.name[0].family]).toEqual(['2', `${tag}-3`]);
    const b = (await call(main, { method: 'GET', url: `/fhir/Patient/${stored}` })).json();
    expect([b.meta.versionId, b.name[0].family]).toEqual(['2', `${tag}-2`]);
    // The index holds the current versions only.
    const found = await call(main, { method: 'GET', url: `/fhir/Patient?family=${tag}-1` });
    expect(found.json().entry ?? []).toHaveLength(0);
  });

  test('URLs outside IMPORT_ALLOWED_SOURCES are refused before anything is fetched', async () => {
    const headers = { 'content-type': 'application/fhir+json', prefer: 'respond-async' };
    for (const url of [`${filesBase}/other/x.ndjson`, 'http://169.254.169.254/latest/meta-data', 'file:///etc/passwd']) {
      const res = await call(main, { method: 'POST', url: '/fhir/$import', headers, payload: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'input', part: [{ name: 'url', valueUri: url }] }] }) });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().issue[0].code).toBe('security');
    }
  });

  test('who may import: admin or institution with system write scopes; Prefer: respond-async; NDJSON only at $import', async () => {
    const body = lines([{ resourceType: 'Patient', name: [{ family: 'x' }] }]);
    for (const token of [await roleToken('clinician'), await roleToken('admin', { scope: 'user/*.cruds' }), await roleToken('institution', { scope: 'system/*.rs' })]) {
      const res = await call(main, { method: 'POST', url: '/fhir/$import', headers: ndjson, payload: body, token });
      expect(res.statusCode).toBe(403);
      expect(res.json().resourceType).toBe('OperationOutcome');
    }
    const institution = await roleToken('institution', { clues: 'DFIMS000011' });
    expect((await poll(main, await kickOff(main, body, ndjson, institution), 600, institution)).output).toEqual([{ type: 'Patient', count: 1 }]);
    const sync = await call(main, { method: 'POST', url: '/fhir/$import', headers: { 'content-type': 'application/fhir+ndjson' }, payload: body });
    expect(sync.statusCode).toBe(400);
    const elsewhere = await call(main, { method: 'POST', url: '/fhir/Patient', headers: ndjson, payload: body });
    expect(elsewhere.statusCode).toBe(415);
    // Another subject may not poll someone else's job.
    const status = await kickOff(main, body);
    const other = await call(main, { method: 'GET', url: status, token: await roleToken('admin', {}, 'someone-else') });
    expect(other.statusCode).toBe(403);
  });

  test('a refused kick-off leaves no uploaded file behind', async () => {
    const dir = await tempDir();
    const app = await start({ importDir: dir });
    const res = await call(app, { method: 'POST', url: '/fhir/$import', headers: { 'content-type': 'application/fhir+ndjson' }, payload: lines([{ resourceType: 'Patient' }]) });
    expect(res.statusCode).toBe(400);
    expect(await readdir(path.join(dir, 'uploads')).catch(() => [])).toEqual([]);
  });

  test('a job whose instance died is resumed by another; a job stopped mid-way resumes exactly where it stopped', async () => {
    const dir = await tempDir();
    const tag = uniqueTag();
    const ids = Array.from({ length: 600 }, () => randomUUID());
    const body = lines(ids.map((id, i) => ({ resourceType: 'Patient', id, identifier: [{ system, value: `${tag}-${i}` }], name: [{ family: tag }] })));
    // A accepts the job and never runs it (as if it died right after the 202); B, on the same database and folder, takes it over once A's lease expires.
    // A database of its own: no other instance of this file may take the job over.
    const own = await createOwnDatabase(inject('databaseUrl'));
    const dead = await start({ importDir: dir, importJobs: { run: false, leaseSeconds: 1 } }, own);
    const status = await kickOff(dead, body);
    const second = await start({ importDir: dir, importJobs: { leaseSeconds: 1, chunkSize: 10 } }, own);
    // Stop B mid-way: it hands the job on (C resumes it) with some chunks committed and some not.
    let seen = 0;
    for (let i = 0; i < 400 && seen === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const progress = String((await call(second, { method: 'GET', url: status })).headers['x-progress'] ?? '');
      seen = Number(/^(\d+) recursos/.exec(progress)?.[1] ?? 0);
    }
    expect(seen).toBeGreaterThan(0);
    await second.close();
    const stopped = await call(dead, { method: 'GET', url: status });
    expect(stopped.statusCode, 'B was stopped before it finished').toBe(202);
    const third = await start({ importDir: dir, importJobs: { leaseSeconds: 1, chunkSize: 200 } }, own);
    const manifest = await poll(third, status, 1200);
    expect(manifest.output).toEqual([{ type: 'Patient', count: 600 }]);
    // Every line imported once: a line done twice would have a second version.
    const client = new pg.Client({ connectionString: own });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string; versions: string; max: number }>(
        'SELECT count(DISTINCT id) AS n, count(*) AS versions, max(version_id) AS max FROM resource_history WHERE resource_type = $1 AND id = ANY($2::text[])',
        ['Patient', ids],
      );
      expect(rows[0]).toEqual({ n: '600', versions: '600', max: 1 });
    } finally {
      await client.end();
    }
  }, 120_000);

  test('a resumed job whose upload is not on the resuming instance fails cleanly, importing nothing', async () => {
    const own = await createOwnDatabase(inject('databaseUrl'));
    const tag = uniqueTag();
    const dead = await start({ importDir: await tempDir(), importJobs: { run: false, leaseSeconds: 1 } }, own);
    const status = await kickOff(dead, lines([{ resourceType: 'Patient', name: [{ family: tag }] }]));
    // Another machine's disk: the upload is not there.
    const other = await start({ importDir: await tempDir(), importJobs: { leaseSeconds: 1 } }, own);
    let res = await call(other, { method: 'GET', url: status });
    for (let i = 0; i < 200 && res.statusCode === 202; i++) {
      await new Promise((r) => setTimeout(r, 50));
      res = await call(other, { method: 'GET', url: status });
    }
    expect(res.statusCode).toBe(500);
    expect(res.json().issue[0].details.text).toMatch(/uploaded file is no longer on this server/);
    expect((await call(other, { method: 'GET', url: `/fhir/Patient?family=${tag}` })).json().entry ?? []).toEqual([]);
  });

  test('DELETE cancels a job; afterwards its status is gone', async () => {
    const app = await start({ importDir: await tempDir(), importJobs: { run: false } });
    const status = await kickOff(app, lines([{ resourceType: 'Patient', name: [{ family: 'x' }] }]));
    const cancel = await call(app, { method: 'DELETE', url: status });
    expect(cancel.statusCode).toBe(202);
    expect((await call(app, { method: 'GET', url: status })).statusCode).toBe(404);
  });
});

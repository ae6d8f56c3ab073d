/**
 * Issue 14's fault test: PostgreSQL crashes (`pg_ctl stop -m immediate`) and
 * comes back 10 times under concurrent reads and writes. The process never
 * dies of an unhandled error, every request is answered (2xx, or 503
 * OperationOutcome with Retry-After), every committed write is readable
 * afterwards, every answered read has its AuditEvent, and the audit chain verifies.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { connect } from '../../src/store/connect.ts';
import { adminToken, testAuth } from '../support/tokens.ts';
import { startRestartablePostgres, type RestartablePostgres } from '../support/restartable-postgres.ts';

let pg: RestartablePostgres;
let app: FastifyInstance;
let exportDir: string;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  pg = await startRestartablePostgres();
  exportDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-fault-exports-'));
  app = await buildApp({ databaseUrl: pg.url, logger: false, auth: testAuth, rateLimitPerMinute: 0, profileEnforcement: 'declared', maxConnections: 8, requestTimeoutMs: 10_000, exportDir });
}, 120_000);

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  await app?.close();
  await pg?.destroy();
  await rm(exportDir, { recursive: true, force: true });
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('10 crashes of PostgreSQL under load: every request answered, nothing committed lost, every read audited', async () => {
  const committed: string[] = [];
  const answeredReads: string[] = [];
  const bad: string[] = [];
  let unavailable = 0;
  let running = true;
  const headers = { authorization: `Bearer ${adminToken}` };

  function check(res: { statusCode: number; headers: Record<string, unknown>; body: string }, ok: number): boolean {
    if (res.statusCode === ok) return true;
    const body = (() => {
      try {
        return JSON.parse(res.body);
      } catch {
        return undefined;
      }
    })();
    if (res.statusCode === 503 && body?.resourceType === 'OperationOutcome' && res.headers['retry-after'] !== undefined) {
      unavailable++;
      return false;
    }
    bad.push(`${res.statusCode} ${res.body.slice(0, 200)}`);
    return false;
  }

  const writer = async () => {
    while (running) {
      const res = await app.inject({ method: 'POST', url: '/fhir/Patient', headers: { ...headers, 'content-type': 'application/fhir+json' }, payload: { resourceType: 'Patient', name: [{ family: 'Fallas' }] } });
      if (check(res, 201)) committed.push(res.json().id);
      else await sleep(20);
    }
  };
  const reader = async () => {
    while (running) {
      const id = committed[Math.floor(Math.random() * committed.length)];
      if (!id) {
        await sleep(20);
        continue;
      }
      const requestId = randomUUID();
      const res = await app.inject({ method: 'GET', url: `/fhir/Patient/${id}`, headers: { ...headers, 'x-request-id': requestId } });
      if (check(res, 200)) answeredReads.push(requestId);
      else await sleep(20);
    }
  };
  const load = Promise.all([writer(), writer(), writer(), reader(), reader(), reader(), reader()]);

  // Bulk exports too: their cursor client sits checked out for the whole job when the connection is cut.
  const exports: string[] = [];
  for (let i = 0; i < 10; i++) {
    await sleep(500);
    const kickOff = await app.inject({ method: 'GET', url: '/fhir/$export?_type=Patient', headers: { ...headers, prefer: 'respond-async' } });
    if (check(kickOff, 202)) exports.push(String(kickOff.headers['content-location']).replace(/^.*\/fhir\//, '/fhir/'));
    await sleep(100);
    await pg.crash();
    await sleep(300);
    await pg.start();
  }
  await sleep(1500);
  running = false;
  await load;

  expect(uncaught).toEqual([]);
  expect(bad).toEqual([]);
  expect(unavailable).toBeGreaterThan(0);
  expect(committed.length).toBeGreaterThan(50);
  expect(answeredReads.length).toBeGreaterThan(50);

  // Every export ends (completed, or failed by the crash and cleaned up), none is left in progress.
  expect(exports.length).toBeGreaterThan(0);
  for (const status of exports) {
    let res = await app.inject({ method: 'GET', url: status, headers });
    for (let tries = 0; res.statusCode === 202 && tries < 60; tries++) {
      await sleep(250);
      res = await app.inject({ method: 'GET', url: status, headers });
    }
    expect([200, 500], res.body.slice(0, 200)).toContain(res.statusCode);
    if (res.statusCode === 500) expect(existsSync(path.join(exportDir, status.split('/').pop()!))).toBe(false);
  }
  expect((await readdir(exportDir)).length).toBeLessThanOrEqual(exports.length);

  // Recovered without a restart: every committed write is readable (by HTTP, 100 ids per search).
  for (let i = 0; i < committed.length; i += 100) {
    const ids = committed.slice(i, i + 100);
    const res = await app.inject({ method: 'GET', url: `/fhir/Patient?_id=${ids.join(',')}&_count=100&_elements=id`, headers });
    expect(res.statusCode).toBe(200);
    expect(res.json().total).toBe(ids.length);
  }
  const db = connect({ databaseUrl: pg.url, maxConnections: 1 });
  try {
    const rows = await db
      .selectFrom('audit_event')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where((eb) => eb(eb.cast(eb.fn('jsonb_extract_path_text', [eb.cast('facts', 'jsonb'), eb.val('requestId')]), 'text'), 'in', answeredReads))
      .executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(answeredReads.length);
    const report = await verifyChain(db);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  } finally {
    await db.destroy();
  }
}, 90_000);

/**
 * Issue 14, on a real socket: what Fastify and Node answer before any route
 * runs (431, bad URL, Content-Length mismatch) and a request past the time
 * limit are OperationOutcomes, and a timed-out write leaves nothing behind.
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { buildApp } from '../../src/app.ts';
import type { FastifyInstance } from 'fastify';
import { createOwnDatabase } from '../support/own-database.ts';
import { adminToken, testAuth } from '../support/tokens.ts';
import { uniqueTag } from '../support/app.ts';

let app: FastifyInstance;
let port: number;
let databaseUrl: string;
const timeoutMs = 1500;

beforeAll(async () => {
  // Its own database: the timeout test locks a table.
  databaseUrl = await createOwnDatabase(inject('databaseUrl'));
  app = await buildApp({ databaseUrl, logger: false, auth: testAuth, rateLimitPerMinute: 0, profileEnforcement: 'declared', requestTimeoutMs: timeoutMs });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await app?.close();
});

/** Sends raw bytes and returns what came back before the server closed or `waitMs` passed. */
function raw(request: string | Buffer, waitMs = 3000): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const done = () => {
      socket.destroy();
      const [head = '', ...rest] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: rest.join('\r\n\r\n') });
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (chunk) => (data += chunk.toString('utf8')));
    socket.on('close', () => {
      clearTimeout(timer);
      done();
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

function expectOutcome(res: { status: number; headers: string; body: string }, status: number): any {
  expect(res.status, res.headers + res.body).toBe(status);
  expect(res.headers.toLowerCase()).toContain('content-type: application/fhir+json');
  const oo = JSON.parse(res.body);
  expect(oo.resourceType).toBe('OperationOutcome');
  expect(oo.issue[0].details.text).toContain(' / ');
  return oo;
}

describe('answers Fastify and Node give on their own are OperationOutcomes', () => {
  test('a URL over 16 KB: 431', async () => {
    const res = await raw(`GET /fhir/Patient?name=${'a'.repeat(17_000)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\n\r\n`);
    expect(expectOutcome(res, 431).issue[0].code).toBe('too-long');
  });

  test('a path that is not valid UTF-8 (FST_ERR_BAD_URL): 400', async () => {
    const res = await raw(`GET /fhir/Patient/%C3%28 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nConnection: close\r\n\r\n`);
    expectOutcome(res, 400);
    expect(res.body).not.toContain('FST_ERR');
  });

  test('a Content-Length shorter than the body: 400', async () => {
    const body = '{"resourceType":"Patient"}';
    const res = await raw(`POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/fhir+json\r\nContent-Length: 5\r\n\r\n${body}GARBAGE\r\n\r\n`);
    // The first request (5 bytes of JSON) is refused as JSON; what follows is not HTTP: both answers are OperationOutcomes.
    for (const part of (res.headers + '\r\n\r\n' + res.body).split(/(?=HTTP\/1\.1 )/).filter((p) => p.startsWith('HTTP/1.1'))) {
      const [head = '', ...rest] = part.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      expect(status).toBe(400);
      expect(head.toLowerCase()).toContain('application/fhir+json');
      expect(JSON.parse(rest.join('\r\n\r\n').replace(/\r\n\r\n$/, '').trim()).resourceType).toBe('OperationOutcome');
    }
  });

  test('a body that never arrives (Content-Length longer than sent): 408, not a dropped connection', async () => {
    const res = await raw(`POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/fhir+json\r\nContent-Length: 500\r\n\r\n{"resourceType":`, timeoutMs + 4000);
    expect([408, 503]).toContain(res.status);
    expect(JSON.parse(res.body).resourceType).toBe('OperationOutcome');
  });
});

describe('a request past REQUEST_TIMEOUT_MS', () => {
  test('gets a 503 OperationOutcome, and its write is rolled back', async () => {
    const locker = new pg.Client({ connectionString: databaseUrl });
    await locker.connect();
    const tag = uniqueTag();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE resource IN ACCESS EXCLUSIVE MODE');
      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/fhir/Patient`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', meta: { tag: [{ code: tag }] } }),
      });
      expect(performance.now() - started).toBeLessThan(timeoutMs + 1000);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
      const oo = (await res.json()) as any;
      expect(oo.resourceType).toBe('OperationOutcome');
      expect(oo.issue[0].code).toBe('timeout');
    } finally {
      await locker.query('ROLLBACK');
    }
    const found = await fetch(`http://127.0.0.1:${port}/fhir/Patient?_tag=${tag}`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(((await found.json()) as any).total).toBe(0);
    await locker.end();
  });

  test('a write that starts late (after slow work) cannot commit after the 503', async () => {
    const index = new pg.Client({ connectionString: databaseUrl });
    const strings = new pg.Client({ connectionString: databaseUrl });
    await index.connect();
    await strings.connect();
    const tag = uniqueTag();
    try {
      // The conditional create's search waits ~1 s on sp_token (each statement stays under the statement timeout);
      // then its write waits on sp_string until after the request's 1.5 s deadline.
      await index.query('BEGIN');
      await index.query('LOCK TABLE sp_token IN ACCESS EXCLUSIVE MODE');
      await strings.query('BEGIN');
      await strings.query('LOCK TABLE sp_string IN ACCESS EXCLUSIVE MODE');
      const answer = fetch(`http://127.0.0.1:${port}/fhir/Patient`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/fhir+json', 'if-none-exist': `identifier=urn:t|${tag}` },
        body: JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'urn:t', value: tag }], name: [{ family: tag }] }),
      });
      await new Promise((r) => setTimeout(r, 1000));
      await index.query('ROLLBACK');
      await new Promise((r) => setTimeout(r, 700));
      await strings.query('ROLLBACK');
      const res = await answer;
      expect(res.status).toBe(503);
      expect(((await res.json()) as any).issue[0].code).toBe('timeout');
    } finally {
      await index.end();
      await strings.end();
    }
    await new Promise((r) => setTimeout(r, 300));
    const found = await fetch(`http://127.0.0.1:${port}/fhir/Patient?identifier=urn:t|${tag}`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(((await found.json()) as any).total).toBe(0);
  });
});

/**
 * Subscriptions under failure: a server killed (SIGKILL) between commit and
 * delivery, and an endpoint that stays down past the retry window. Each on a
 * database of its own, so no other instance's worker is involved.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Parameters, Subscription } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { afterAll, expect, inject, test } from 'vitest';
import { buildApp, type AppOptions } from '../../src/app.ts';
import { fhirJson, uniqueTag } from '../support/app.ts';
import { createOwnDatabase } from '../support/own-database.ts';
import { startReceiver, statusOf } from '../support/receiver.ts';
import { adminToken, testAuth } from '../support/tokens.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function instance(databaseUrl: string, subscriptions: AppOptions['subscriptions']): Promise<FastifyInstance> {
  const app = await buildApp({ databaseUrl, logger: false, auth: testAuth, rateLimitPerMinute: 0, profileEnforcement: 'declared', subscriptions: { worker: true, pollMs: 50, endpoints: { allowed: ['http://127.0.0.1'] }, ...subscriptions } });
  cleanup.push(() => app.close());
  return app;
}

function child(databaseUrl: string): Promise<{ proc: ChildProcess; base: string }> {
  const proc = spawn(process.execPath, [path.join(here, '../support/subscription-child.ts')], {
    env: { ...process.env, DATABASE_URL: databaseUrl, TEST_AUTH: JSON.stringify(testAuth), LEASE_MS: '1500' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanup.push(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ proc, base: `http://127.0.0.1:${m[1]}/fhir` });
    });
    proc.on('exit', (code) => reject(new Error(`child exited early (${code ?? 'signal'})`)));
  });
}

const subscription = (endpoint: string, tag: string): Subscription => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'crash test',
  criteria: `Observation?code=urn:test|${tag}`,
  channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' },
});
const observation = (tag: string) => ({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:test', code: tag }] } });

test('a server killed with SIGKILL while delivering: the event is delivered after another instance starts', { timeout: 120_000 }, async () => {
  const databaseUrl = await createOwnDatabase(inject('databaseUrl'));
  // A receiver that answers the handshake, then takes the first event and never answers: the child is killed holding it (committed, not delivered).
  const received: { eventNumbers: number[] }[] = [];
  let hung: ServerResponse | undefined;
  let firstArrived!: () => void;
  const arrived = new Promise<void>((r) => (firstArrived = r));
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = statusOf(JSON.parse(body) as Bundle);
      if (status.type !== 'event-notification') {
        res.end();
        return;
      }
      if (!hung) {
        hung = res;
        firstArrived();
        return;
      }
      received.push(status);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const { proc, base } = await child(databaseUrl);
  const tag = uniqueTag();
  const post = (type: string, body: object) => fetch(`${base}/${type}`, { method: 'POST', headers: { ...fhirJson, authorization: `Bearer ${adminToken}` }, body: JSON.stringify(body) });
  expect((await post('Subscription', subscription(endpoint, tag))).status).toBe(201);
  expect((await post('Observation', observation(tag))).status).toBe(201);
  await arrived;
  const exited = new Promise((r) => proc.on('exit', r));
  proc.kill('SIGKILL');
  await exited;
  hung?.destroy();

  // Nothing was marked delivered; a fresh instance takes over once the dead one's lease runs out.
  await instance(databaseUrl, { leaseMs: 1500 });
  const deadline = Date.now() + 10_000;
  while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(received.map((r) => r.eventNumbers)).toEqual([[1]]);
});

test('an endpoint down past the retry window: status error with the reason; reactivating delivers what was pending', { timeout: 30_000 }, async () => {
  const databaseUrl = await createOwnDatabase(inject('databaseUrl'));
  const receiver = await startReceiver();
  cleanup.push(() => receiver.close());
  const app = await instance(databaseUrl, { retry: { baseMs: 30, maxDelayMs: 100, giveUpAfterMs: 400 } });
  const request = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => app.inject({ method, url, headers: { ...fhirJson, authorization: `Bearer ${adminToken}` }, payload: payload as never });
  const tag = uniqueTag();
  const created = (await request('POST', '/fhir/Subscription', subscription(`${receiver.url}/hook`, tag))).json() as Subscription;
  await receiver.waitFor(1, 5000, '/hook', 'handshake');
  receiver.status = 500;
  expect((await request('POST', '/fhir/Observation', observation(tag))).statusCode).toBe(201);
  let current: Subscription = created;
  const deadline = Date.now() + 10_000;
  while (current.status !== 'error' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    current = (await request('GET', `/fhir/Subscription/${created.id ?? ''}`)).json() as Subscription;
  }
  expect(current.status).toBe('error');
  expect(current.error).toMatch(/Delivery failing since .*HTTP 500/);
  const st = ((await request('GET', `/fhir/Subscription/${created.id ?? ''}/$status`)).json() as Bundle).entry?.[0]?.resource as Parameters;
  expect(st.parameter?.find((p) => p.name === 'status')?.valueCode).toBe('error');
  expect(st.parameter?.find((p) => p.name === 'error')?.valueCodeableConcept?.text).toMatch(/HTTP 500/);
  expect(receiver.received).toHaveLength(0);

  receiver.status = 200;
  const { meta: _meta, error: _error, ...rest } = current;
  expect((await request('PUT', `/fhir/Subscription/${created.id ?? ''}`, { ...rest, status: 'requested' })).statusCode).toBe(200);
  const [n] = await receiver.waitFor(1, 5000);
  expect(statusOf(n!.bundle).eventNumbers).toEqual([1]);
  // Reactivation is verified by a handshake again before the pending event goes out.
  expect(receiver.all.map((x) => x.type)).toEqual(['handshake', 'handshake', 'event-notification']);
});

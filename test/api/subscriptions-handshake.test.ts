/**
 * Subscriptions, Backport IG handshake and heartbeat, and the audit of every
 * delivery attempt (issue 18): two server instances on one database, each
 * running its delivery worker, and receivers on 127.0.0.1.
 */
import { createHmac } from 'node:crypto';
import type { AuditEvent, Bundle, Parameters, Subscription } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { signatureHeader } from '../../src/subscriptions/notification.ts';
import { heartbeatPeriodUrl, secretExtensionUrl } from '../../src/subscriptions/subscription-rules.ts';
import { fhirJson, uniqueTag } from '../support/app.ts';
import { createOwnDatabase } from '../support/own-database.ts';
import { startReceiver, statusOf, subscriptionAppOptions, type Receiver } from '../support/receiver.ts';
import { adminToken, roleToken } from '../support/tokens.ts';

const apps: FastifyInstance[] = [];
const receivers: Receiver[] = [];
let a: FastifyInstance;
let b: FastifyInstance;

beforeAll(async () => {
  const databaseUrl = await createOwnDatabase(inject('databaseUrl'));
  for (let i = 0; i < 2; i++) {
    apps.push(
      await buildApp(subscriptionAppOptions(databaseUrl)),
    );
  }
  [a, b] = apps as [FastifyInstance, FastifyInstance];
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const r of receivers) await r.close();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

type Method = 'GET' | 'POST' | 'PUT';
const request = (app: FastifyInstance, method: Method, url: string, payload?: object, token = adminToken) =>
  app.inject({ method, url, headers: { ...fhirJson, authorization: `Bearer ${token}` }, payload: payload as never });

function subscription(endpoint: string, tag: string, heartbeatSeconds?: number): Subscription {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'handshake test',
    criteria: `Observation?code=urn:test|${tag}`,
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      extension: [{ url: secretExtensionUrl, valueString: 'secreto' }, ...(heartbeatSeconds ? [{ url: heartbeatPeriodUrl, valueUnsignedInt: heartbeatSeconds }] : [])],
    },
  };
}

async function subscribe(app: FastifyInstance, s: Subscription): Promise<string> {
  const res = await request(app, 'POST', '/fhir/Subscription', s);
  expect(res.statusCode, res.body).toBe(201);
  expect((res.json() as Subscription).status).toBe('requested'); // stored as sent; the worker changes it after
  return (res.json() as Subscription).id ?? '';
}

async function statusBecomes(id: string, want: string, ms = 5000): Promise<Subscription> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = (await request(a, 'GET', `/fhir/Subscription/${id}`)).json() as Subscription;
    if (s.status === want || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function attempts(id: string): Promise<{ type?: string; outcome?: string; status?: number }[]> {
  const res = await request(b, 'GET', `/fhir/Subscription/${id}/$status`);
  expect(res.statusCode, res.body).toBe(200);
  const p = (res.json() as Bundle).entry?.[0]?.resource as Parameters;
  return (p.parameter ?? [])
    .filter((x) => x.name === 'delivery-attempt')
    .map((x) => ({ type: x.part?.find((q) => q.name === 'type')?.valueCode, outcome: x.part?.find((q) => q.name === 'outcome')?.valueCode, status: x.part?.find((q) => q.name === 'http-status')?.valueInteger }));
}

async function auditedDeliveries(entity: string): Promise<AuditEvent[]> {
  const auditor = await roleToken('auditor', {}, `auditor-${uniqueTag()}`);
  const res = await request(a, 'GET', `/fhir/AuditEvent?entity=${entity}&_count=100`, undefined, auditor);
  expect(res.statusCode, res.body).toBe(200);
  const events = ((res.json() as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
  return events.filter((e) => e.subtype?.some((s) => s.system === 'urn:ecu-fhir:operation' && s.code?.startsWith('subscription-')));
}

const operation = (e: AuditEvent) => e.subtype?.find((s) => s.system === 'urn:ecu-fhir:operation')?.code;

test('a new subscription is verified by a signed handshake, then becomes active; events follow it; every attempt is audited', async () => {
  const r = await receiver();
  const tag = uniqueTag();
  const id = await subscribe(a, subscription(`${r.url}/hook`, tag));
  const [h] = await r.waitFor(1, 3000, '/hook', 'handshake');
  expect(h!.bundle.type).toBe('history');
  expect(h!.bundle.entry).toHaveLength(1); // the SubscriptionStatus only
  expect(statusOf(h!.bundle)).toMatchObject({ type: 'handshake', since: 0, eventNumbers: [] });
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(h!.headers[signatureHeader])) ?? [];
  expect(v1).toBe(createHmac('sha256', 'secreto').update(`${t ?? ''}.${h!.raw}`).digest('hex'));
  expect(await statusBecomes(id, 'active')).toMatchObject({ status: 'active', meta: { versionId: '2' } });

  const patient = (await request(a, 'POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: tag }] })).json() as { id: string };
  const obs = (await request(b, 'POST', '/fhir/Observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:test', code: tag }] }, subject: { reference: `Patient/${patient.id}` } })).json() as { id: string };
  const [n] = await r.waitFor(1, 3000, '/hook');
  expect(statusOf(n!.bundle)).toMatchObject({ eventNumbers: [1], focus: [`Observation/${obs.id}`] });
  await new Promise((res) => setTimeout(res, 300));
  expect(r.all.map((x) => x.type)).toEqual(['handshake', 'event-notification']);
  expect((await attempts(id)).map((x) => `${x.type}:${x.outcome}`).sort()).toEqual(['event-notification:delivered', 'handshake:delivered']);

  // The disclosure is in the trail: whose subscription, where it went, what and whose record, the Bundle's id.
  const [audited, ...more] = await auditedDeliveries(`Observation/${obs.id}`);
  expect(more).toHaveLength(0);
  expect(operation(audited!)).toBe('subscription-event-notification');
  expect(audited!.outcome).toBe('0');
  expect(audited!.agent?.[0]?.who?.identifier?.value).toBe('admin-tests');
  expect(audited!.agent?.[0]?.network?.address).toBe(new URL(r.url).host);
  expect(audited!.entity?.map((e) => e.what?.reference)).toEqual(expect.arrayContaining([`Patient/${patient.id}`, `Observation/${obs.id}/_history/1`]));
  expect(audited!.extension?.[0]?.valueString).toBe(n!.bundle.id);
  expect((await auditedDeliveries(`Subscription/${id}`)).map(operation)).toEqual(['subscription-handshake']);
});

test('a failed handshake puts the subscription in error with the reason, audited as failed; PUT back to requested verifies it again', async () => {
  const r = await receiver();
  r.status = 500;
  const tag = uniqueTag();
  const id = await subscribe(b, subscription(`${r.url}/hook`, tag));
  const failed = await statusBecomes(id, 'error');
  expect(failed.status).toBe('error');
  expect(failed.error).toMatch(/Handshake failed: HTTP 500/);
  expect(await attempts(id)).toEqual([{ type: 'handshake', outcome: 'failed', status: 500 }]);
  const [audited] = await auditedDeliveries(`Subscription/${id}`);
  expect(audited).toMatchObject({ outcome: '8' });
  expect(audited!.outcomeDesc).toMatch(/HTTP 500/);

  // In error nothing is sent, not even a retry of the handshake.
  r.status = 200;
  await new Promise((res) => setTimeout(res, 400));
  expect(r.all).toHaveLength(0);
  const { meta: _meta, error: _error, ...rest } = failed;
  expect((await request(a, 'PUT', `/fhir/Subscription/${id}`, { ...rest, status: 'requested' })).statusCode).toBe(200);
  await r.waitFor(1, 3000, '/hook', 'handshake');
  expect((await statusBecomes(id, 'active')).status).toBe('active');
  await request(a, 'POST', '/fhir/Observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:test', code: tag }] } });
  const [n] = await r.waitFor(1, 3000, '/hook');
  expect(statusOf(n!.bundle).eventNumbers).toEqual([1]);
  expect((await auditedDeliveries(`Subscription/${id}`)).map((e) => `${operation(e)}:${e.outcome}`).sort()).toEqual(['subscription-handshake:0', 'subscription-handshake:8']);
});

test('an active subscription whose endpoint changes is verified again by a handshake at the new endpoint before any event goes there', async () => {
  const r = await receiver();
  const tag = uniqueTag();
  const id = await subscribe(a, subscription(`${r.url}/first`, tag));
  await r.waitFor(1, 3000, '/first', 'handshake');
  const active = await statusBecomes(id, 'active');
  expect(active.status).toBe('active');
  const { meta: _meta, ...rest } = active;
  const moved = await request(b, 'PUT', `/fhir/Subscription/${id}`, { ...rest, channel: { ...rest.channel, endpoint: `${r.url}/second` } });
  expect(moved.statusCode, moved.body).toBe(200);
  await request(a, 'POST', '/fhir/Observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:test', code: tag }] } });
  await r.waitFor(1, 3000, '/second');
  expect(r.all.map((x) => `${x.path}:${x.type}`)).toEqual(['/first:handshake', '/second:handshake', '/second:event-notification']);
});

test('heartbeats: one per period when nothing else was sent, from either instance but never both; an event restarts the period', { timeout: 20_000 }, async () => {
  const r = await receiver();
  const tag = uniqueTag();
  const id = await subscribe(a, subscription(`${r.url}/hook`, tag, 1));
  await r.waitFor(1, 3000, '/hook', 'handshake');
  await r.waitFor(3, 6000, '/hook', 'heartbeat');
  const beats = r.all.filter((x) => x.type === 'heartbeat');
  for (let i = 1; i < beats.length; i++) expect(beats[i]!.at - beats[i - 1]!.at).toBeGreaterThanOrEqual(900);
  expect(statusOf(beats[0]!.bundle)).toMatchObject({ type: 'heartbeat', since: 0, eventNumbers: [] });

  await request(b, 'POST', '/fhir/Observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:test', code: tag }] } });
  const [n] = await r.waitFor(1, 3000, '/hook');
  await r.waitFor(beats.length + 1, 4000, '/hook', 'heartbeat');
  const next = r.all.filter((x) => x.type === 'heartbeat')[beats.length]!;
  expect(next.at - n!.at).toBeGreaterThanOrEqual(900);
  expect(statusOf(next.bundle).since).toBe(1);
  expect((await attempts(id)).filter((x) => x.type === 'heartbeat' && x.outcome === 'delivered').length).toBeGreaterThanOrEqual(beats.length); // the last may still be being recorded
});

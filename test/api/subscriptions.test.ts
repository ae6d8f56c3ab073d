/**
 * Subscriptions with guaranteed delivery (issue 18), against a receiver on
 * 127.0.0.1 and two server instances on one database, each running its
 * delivery worker.
 */
import { createHmac } from 'node:crypto';
import type { Bundle, Observation, Parameters, Subscription } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { buildApp, type AppOptions } from '../../src/app.ts';
import { filterCriteriaUrl, payloadContentUrl, signatureHeader } from '../../src/subscriptions/notification.ts';
import { secretExtensionUrl } from '../../src/subscriptions/subscription-rules.ts';
import { topicBase } from '../../src/subscriptions/topics.ts';
import { fhirJson, uniqueTag, type TestApp, type TestRequest } from '../support/app.ts';
import { createOwnDatabase } from '../support/own-database.ts';
import { startReceiver, statusOf, subscriptionAppOptions, type Receiver } from '../support/receiver.ts';
import { moveTask, referral, referralWorld, sendReferral, taskOf } from '../support/referral.ts';
import { adminToken, roleToken } from '../support/tokens.ts';

let databaseUrl: string;
const apps: FastifyInstance[] = [];
let receiver: Receiver;

function asTestApp(app: FastifyInstance): TestApp {
  return {
    app,
    databaseUrl,
    request: ({ token, ...o }: TestRequest) => {
      const headers: Record<string, string> = { ...(o.headers as Record<string, string> | undefined) };
      const bearer = token === undefined ? adminToken : token;
      if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
      return app.inject({ ...o, headers });
    },
  };
}

async function instance(extra: Partial<AppOptions> = {}): Promise<TestApp> {
  const app = await buildApp({ ...subscriptionAppOptions(databaseUrl), ...extra });
  apps.push(app);
  return asTestApp(app);
}

let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  databaseUrl = await createOwnDatabase(inject('databaseUrl'));
  receiver = await startReceiver();
  a = await instance();
  b = await instance();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await receiver?.close();
});

function subscription(criteria: string, path: string, more: Partial<Subscription> = {}, filters: string[] = []): Subscription {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'test',
    criteria,
    ...(filters.length ? { _criteria: { extension: filters.map((f) => ({ url: filterCriteriaUrl, valueString: f })) } } : {}),
    channel: { type: 'rest-hook', endpoint: `${receiver.url}${path}`, payload: 'application/fhir+json', header: ['X-Receiver-Key: clave-1'], extension: [{ url: secretExtensionUrl, valueString: 'secreto-compartido' }] },
    ...more,
  } as Subscription;
}

async function subscribe(t: TestApp, s: Subscription, token?: string): Promise<Subscription> {
  const res = await t.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: s, token });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as Subscription;
}

function observation(tag: string, patient?: string): Observation {
  return { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:test', code: tag }] }, ...(patient ? { subject: { reference: `Patient/${patient}` } } : {}) };
}

async function create(t: TestApp, r: object, token?: string) {
  const res = await t.request({ method: 'POST', url: `/fhir/${(r as { resourceType: string }).resourceType}`, headers: fhirJson, payload: r, token });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string };
}

test('a referral reaches the receiving unit in under a second: one signed notification, eventNumber 1, secret never stored', async () => {
  const w = await referralWorld(a);
  const path = `/cmn-${w.tag}`;
  const sub = await subscribe(a, subscription(`${topicBase}referral-created`, path, {}, [`Task?owner=Organization/${w.cmn.id}`]), w.cmn.doctor);
  expect(sub.status).toBe('requested');
  expect(JSON.stringify(sub)).not.toContain('secreto-compartido');
  const read = await a.request({ method: 'GET', url: `/fhir/Subscription/${sub.id ?? ''}` });
  expect(read.body).not.toContain('secreto-compartido');
  // The referring unit subscribes too, filtered on itself as owner: a referral it sends is not for it.
  await subscribe(a, subscription(`${topicBase}referral-created`, `/umf-${w.tag}`, {}, [`Task?owner=Organization/${w.umf.id}`]), w.umf.doctor);

  const sent = await sendReferral(a, w, referral(w));
  expect(sent.statusCode, sent.body).toBe(200);
  const committed = Date.now();
  const srId = /ServiceRequest\/([^/]+)/.exec((sent.json() as Bundle).entry?.[1]?.response?.location ?? '')?.[1] ?? '';
  const { task } = await taskOf(a, srId);
  const [n] = await receiver.waitFor(1, 1000, path);
  expect(n!.at - committed).toBeLessThan(1000);
  expect(n!.headers['content-type']).toBe('application/fhir+json');
  expect(n!.headers['x-receiver-key']).toBe('clave-1');
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(n!.headers[signatureHeader])) ?? [];
  expect(v1).toBe(createHmac('sha256', 'secreto-compartido').update(`${t ?? ''}.${n!.raw}`).digest('hex'));
  expect(n!.bundle.type).toBe('history');
  const status = statusOf(n!.bundle);
  expect(status).toMatchObject({ eventNumbers: [1], since: 1, type: 'event-notification', focus: [`Task/${task.id ?? ''}`] });
  expect(n!.bundle.entry?.[1]?.resource).toMatchObject({ resourceType: 'Task', id: task.id, owner: { reference: `Organization/${w.cmn.id}` } });
  await new Promise((r) => setTimeout(r, 300));
  expect(receiver.received.filter((x) => x.path === path)).toHaveLength(1);
  expect(receiver.received.filter((x) => x.path === `/umf-${w.tag}`)).toHaveLength(0);
  // The handshake came first, and made the subscription active in a version of its own.
  expect(receiver.all.filter((x) => x.path === path).map((x) => x.type)).toEqual(['handshake', 'event-notification']);
  const after = (await a.request({ method: 'GET', url: `/fhir/Subscription/${sub.id ?? ''}` })).json() as Subscription;
  expect(after).toMatchObject({ status: 'active', meta: { versionId: '2' } });
});

test('a receiver that is down gets every event once it is back, in order, none twice; every attempt shows in $status; $events replays', async () => {
  const tag = uniqueTag();
  const path = `/down-${tag}`;
  const sub = await subscribe(a, subscription(`Observation?code=urn:test|${tag}`, path));
  await receiver.waitFor(1, 3000, path, 'handshake'); // verified while up, then down
  receiver.status = 503;
  try {
    for (let i = 0; i < 6; i++) await create(i % 2 ? a : b, observation(tag));
    await new Promise((r) => setTimeout(r, 600));
  } finally {
    receiver.status = 200;
  }
  const got = await receiver.waitFor(6, 5000, path);
  await new Promise((r) => setTimeout(r, 300));
  const numbers = receiver.received.filter((x) => x.path === path).flatMap((x) => statusOf(x.bundle).eventNumbers);
  expect(numbers).toEqual([1, 2, 3, 4, 5, 6]);
  expect(got).toHaveLength(6);

  const st = await a.request({ method: 'GET', url: `/fhir/Subscription/${sub.id ?? ''}/$status` });
  expect(st.statusCode, st.body).toBe(200);
  const p = (st.json() as Bundle).entry?.[0]?.resource as Parameters;
  expect(p.parameter?.find((x) => x.name === 'events-since-subscription-start')?.valueString).toBe('6');
  const attempts = (p.parameter ?? []).filter((x) => x.name === 'delivery-attempt' && x.part?.find((q) => q.name === 'type')?.valueCode === 'event-notification');
  const outcome = (x: (typeof attempts)[number]) => x.part?.find((q) => q.name === 'outcome')?.valueCode;
  expect(attempts.filter((x) => outcome(x) === 'delivered')).toHaveLength(6);
  const failed = attempts.filter((x) => outcome(x) === 'failed');
  expect(failed.length).toBeGreaterThan(0);
  expect(failed[0]?.part?.find((q) => q.name === 'http-status')?.valueInteger).toBe(503);

  const replay = await a.request({ method: 'GET', url: `/fhir/Subscription/${sub.id ?? ''}/$events?eventsSinceNumber=2&eventsUntilNumber=4&content=id-only` });
  expect(replay.statusCode, replay.body).toBe(200);
  const rb = replay.json() as Bundle;
  expect(statusOf(rb)).toMatchObject({ eventNumbers: [2, 3, 4], type: 'query-event' });
  expect(rb.entry?.slice(1).every((e) => e.resource === undefined && e.fullUrl?.includes('/Observation/'))).toBe(true);
  // Another token subject may not see someone else's subscription state.
  const other = await roleToken('clinician', { clues: 'DFIMS000011' }, `otro-${tag}`);
  expect((await a.request({ method: 'GET', url: `/fhir/Subscription/${sub.id ?? ''}/$status`, token: other })).statusCode).toBe(403);
  // Nor redirect it elsewhere: its notifications carry what its owner may read.
  const redirected = { ...sub, channel: { ...sub.channel, endpoint: `${receiver.url}/elsewhere` } };
  const hijack = await a.request({ method: 'PUT', url: `/fhir/Subscription/${sub.id ?? ''}`, headers: fhirJson, payload: redirected, token: other });
  expect(hijack.statusCode, hijack.body).toBe(403);
});

test('a rolled-back transaction leaves no event; the next committed change is eventNumber 1', async () => {
  const tag = uniqueTag();
  const path = `/rollback-${tag}`;
  await subscribe(a, subscription(`Observation?code=urn:test|${tag}`, path));
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { resource: observation(tag), request: { method: 'POST', url: 'Observation' } },
      { resource: { resourceType: 'Observation', status: 'no-such-status', code: { text: 'x' } } as unknown as Observation, request: { method: 'POST', url: 'Observation' } },
    ],
  };
  const failed = await a.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: bundle });
  expect(failed.statusCode).toBeGreaterThanOrEqual(400);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await new Promise((r) => setTimeout(r, 300));
    const ok = await create(a, observation(tag));
    const [n] = await receiver.waitFor(1, 2000, path);
    expect(statusOf(n!.bundle)).toMatchObject({ eventNumbers: [1], focus: [`Observation/${ok.id}`] });
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received.filter((x) => x.path === path)).toHaveLength(1);
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM subscription_event e JOIN resource r ON r.resource_type = e.resource_type AND r.id = e.resource_id WHERE r.content::jsonb->'code'->'coding'->0->>'code' = $1`, [tag]);
    expect(rows[0].n).toBe(1);
  } finally {
    await client.end();
  }
});

test('a status change of the referral Task is an update event with the status it came from (the version before it, read from history)', async () => {
  const w = await referralWorld(a);
  const path = `/status-${w.tag}`;
  await subscribe(a, subscription(`${topicBase}task-status-changed`, path, {}, [`Task?owner=Organization/${w.cmn.id}`]), w.cmn.doctor);
  const sent = await sendReferral(a, w, referral(w));
  expect(sent.statusCode, sent.body).toBe(200);
  const srId = /ServiceRequest\/([^/]+)/.exec((sent.json() as Bundle).entry?.[1]?.response?.location ?? '')?.[1] ?? '';
  expect((await moveTask(a, srId, w.cmn.doctor, (x) => (x.status = 'received'))).statusCode).toBe(200);
  expect((await moveTask(a, srId, w.cmn.doctor, (x) => x.note = [{ text: 'sin cambio de estado' }])).statusCode).toBe(200);
  expect((await moveTask(a, srId, w.cmn.doctor, (x) => (x.status = 'accepted'))).statusCode).toBe(200);
  const got = await receiver.waitFor(2, 3000, path);
  expect(got.flatMap((x) => statusOf(x.bundle).eventNumbers)).toEqual([1, 2]);
  expect(got.map((x) => (x.bundle.entry?.[1]?.resource as { status?: string } | undefined)?.status)).toEqual(['received', 'accepted']);
  await new Promise((r) => setTimeout(r, 300));
  expect(receiver.received.filter((x) => x.path === path)).toHaveLength(2);
});

test('a version whose transaction commits after later ones is still an event, once; one rolled back never is', async () => {
  const tag = uniqueTag();
  const path = `/late-${tag}`;
  const patient = await create(a, { resourceType: 'Patient', name: [{ family: tag }] });
  await subscribe(a, subscription(`${topicBase}patient-compartment`, path, {}, [`patient=Patient/${patient.id}`]));
  const late = new pg.Client({ connectionString: databaseUrl });
  const rolled = new pg.Client({ connectionString: databaseUrl });
  await late.connect();
  await rolled.connect();
  // Written below the server's own writes in history order (their seq numbers come first), committed later or never.
  const rawInsert = (c: pg.Client, id: string) =>
    c.query(`INSERT INTO resource (resource_type, id, version_id, last_updated, content, patients) VALUES ('Observation', $1, 1, now(), $2, $3)`, [
      id,
      JSON.stringify({ ...observation(tag, patient.id), id, meta: { versionId: '1', lastUpdated: new Date().toISOString() } }),
      [patient.id],
    ]);
  try {
    const lateId = `late-${tag}`;
    await late.query('BEGIN');
    await rawInsert(late, lateId);
    await rolled.query('BEGIN');
    await rawInsert(rolled, `rolled-${tag}`);
    // Not held up behind the open transactions.
    const first = await create(a, observation(tag, patient.id));
    const [n1] = await receiver.waitFor(1, 2000, path);
    expect(statusOf(n1!.bundle)).toMatchObject({ eventNumbers: [1], focus: [`Observation/${first.id}`] });
    await rolled.query('ROLLBACK');
    await late.query('COMMIT');
    const got = await receiver.waitFor(2, 3000, path);
    expect(statusOf(got[1]!.bundle)).toMatchObject({ eventNumbers: [2], focus: [`Observation/${lateId}`] });
    // The rolled-back number is settled once every transaction that could hold it has ended; nothing more arrives.
    const deadline = Date.now() + 10_000;
    let gaps = -1;
    while (gaps !== 0 && Date.now() < deadline) {
      gaps = ((await late.query('SELECT cardinality(gap_lo) AS n FROM subscription_fanout')).rows[0] as { n: number }).n;
      if (gaps !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(gaps).toBe(0);
    expect(receiver.received.filter((x) => x.path === path)).toHaveLength(2);
  } finally {
    await late.end();
    await rolled.end();
  }
});

test("a transaction bundle's creates (written set-based, in one statement) are events 1..n in entry order", async () => {
  const tag = uniqueTag();
  const path = `/bundle-${tag}`;
  await subscribe(a, subscription(`Observation?code=urn:test|${tag}`, path));
  const entries = Array.from({ length: 5 }, (_, i) => ({ resource: { ...observation(tag), valueString: `v${i}` }, request: { method: 'POST', url: 'Observation' } }));
  const res = await a.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: { resourceType: 'Bundle', type: 'transaction', entry: entries } });
  expect(res.statusCode, res.body).toBe(200);
  const got = await receiver.waitFor(5, 5000, path);
  expect(got.flatMap((x) => statusOf(x.bundle).eventNumbers)).toEqual([1, 2, 3, 4, 5]);
  expect(got.map((x) => (x.bundle.entry?.[1]?.resource as { valueString?: string } | undefined)?.valueString)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
});

test('with two instances delivering, each of many events arrives exactly once and in order', async () => {
  const tag = uniqueTag();
  const paths = [0, 1, 2].map((i) => `/two-${i}-${tag}`);
  for (const p of paths) await subscribe(b, subscription(`Observation?code=urn:test|${tag}`, p));
  await Promise.all(Array.from({ length: 20 }, (_, i) => create(i % 2 ? a : b, observation(tag))));
  for (const p of paths) await receiver.waitFor(20, 8000, p);
  await new Promise((r) => setTimeout(r, 400));
  for (const p of paths) {
    const numbers = receiver.received.filter((x) => x.path === p).flatMap((x) => statusOf(x.bundle).eventNumbers);
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  }
});

test("a subscription sees only what its owner's token could read", async () => {
  const tag = uniqueTag();
  const path = `/scoped-${tag}`;
  const patient = await create(a, { resourceType: 'Patient', name: [{ family: tag }] });
  const narrow = await roleToken('clinician', { scope: 'user/Subscription.cru user/Observation.rs', clues: 'DFIMS000011' }, `narrow-${tag}`);
  await subscribe(a, subscription(`${topicBase}patient-compartment`, path, {}, [`patient=Patient/${patient.id}`]), narrow);
  await create(a, { resourceType: 'Condition', subject: { reference: `Patient/${patient.id}` }, code: { text: tag } });
  const obs = await create(a, observation(tag, patient.id));
  const [n] = await receiver.waitFor(1, 2000, path);
  expect(statusOf(n!.bundle)).toMatchObject({ eventNumbers: [1], focus: [`Observation/${obs.id}`] });
  await new Promise((r) => setTimeout(r, 400));
  expect(receiver.received.filter((x) => x.path === path)).toHaveLength(1);
  // Nor may it subscribe to a search it could not run.
  const refused = await a.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: subscription(`Condition?code=${tag}`, path), token: narrow });
  expect(refused.statusCode).toBe(403);
});

test('endpoints are validated: not listed, plain http elsewhere, link-local and metadata addresses, other channels', async () => {
  const base = subscription('Observation?code=x', '/x');
  const post = (endpoint: string, type = 'rest-hook') =>
    a.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: { ...base, channel: { ...base.channel, type, endpoint } } });
  for (const endpoint of ['https://example.org/hook', 'http://169.254.169.254/latest/meta-data', 'https://[fe80::1]/x', 'http://metadata.google.internal/x', 'http://127.0.0.1.evil.example/x']) {
    const res = await post(endpoint);
    expect(res.statusCode, endpoint).toBe(422);
    expect((res.json() as { issue: { expression: string[] }[] }).issue[0]?.expression).toEqual(['Subscription.channel.endpoint']);
  }
  expect((await post(`${receiver.url}/x`, 'websocket')).statusCode).toBe(422);
  const unknownTopic = await a.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: { ...base, criteria: `${topicBase}nope` } });
  expect(unknownTopic.statusCode).toBe(422);
  const badFilter = await a.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: subscription(`${topicBase}referral-created`, '/x', {}, ['Task?color=red']) });
  expect(badFilter.statusCode).toBe(422);
  void payloadContentUrl;
});

test('the CapabilityStatement lists the topics and the $status and $events operations', async () => {
  const res = await a.request({ method: 'GET', url: '/fhir/metadata' });
  const sub = (res.json() as { rest: { resource: { type: string; extension?: { valueCanonical: string }[]; operation: { name: string }[] }[] }[] }).rest[0]!.resource.find((r) => r.type === 'Subscription');
  expect(sub?.extension?.map((e) => e.valueCanonical)).toContain(`${topicBase}referral-created`);
  expect(sub?.operation.map((o) => o.name)).toEqual(expect.arrayContaining(['status', 'events']));
});

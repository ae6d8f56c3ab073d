/**
 * One rate limit for every instance (issue 13, finding 9): two app instances
 * on one database count together, per verified identity whatever the header's
 * spelling, per address for requests without a valid token; failed
 * authentications are audited once per address per interval, with a count.
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { connect } from '../../src/store/connect.ts';
import { useTestApp } from '../support/app.ts';
import { roleToken, testAuth } from '../support/tokens.ts';

const limit = 10;
const options = { rateLimitPerMinute: limit, failedAuthAuditSeconds: 2, profileEnforcement: 'declared' as const };
const a = useTestApp({ ...options, ownDatabase: true });
let b: FastifyInstance;

beforeAll(async () => {
  b = await buildApp({ databaseUrl: a.databaseUrl, logger: false, auth: testAuth, ...options });
});
afterAll(async () => {
  await b?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits until at least `room` ms are left in the current window of `size` ms, so a test's requests share one window. */
async function startOfWindow(size: number, room: number): Promise<void> {
  if (size - (Date.now() % size) < room) await sleep(size - (Date.now() % size) + 20);
}

function send(app: FastifyInstance, o: InjectOptions): Promise<number> {
  return app.inject(o).then((r) => r.statusCode);
}

test('two instances enforce one limit per identity, however the Authorization header is spelled', async () => {
  await startOfWindow(60_000, 15_000);
  const token = await roleToken('clinician', {}, `limitado-${Date.now()}`);
  const spellings = [`Bearer ${token}`, `bearer ${token}`, `Bearer  ${token}`, `BEARER ${token}`];
  const get = (app: FastifyInstance, n: number) => send(app, { method: 'GET', url: '/fhir/Patient/none', headers: { authorization: spellings[n % spellings.length]! } });
  const statuses: number[] = [];
  // Below half the limit each instance counts on its own, and sends its counts within a second.
  for (let i = 0; i < 4; i++) statuses.push(await get(a.app, i), await get(b, i + 1));
  await sleep(1300);
  for (let i = 0; i < 4; i++) statuses.push(await get(i % 2 === 0 ? a.app : b, i));
  expect(statuses.filter((s) => s === 404)).toHaveLength(limit);
  expect(statuses.slice(limit)).toEqual([429, 429]);
  // Once over, both instances refuse, with an OperationOutcome and Retry-After.
  for (const app of [a.app, b]) {
    const res = await app.inject({ method: 'GET', url: '/fhir/Patient/none', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(429);
    expect(res.json().issue[0].code).toBe('throttled');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  }
  // Another identity is not affected.
  expect(await send(b, { method: 'GET', url: '/fhir/Patient/none', headers: { authorization: `Bearer ${await roleToken('clinician', {}, `otro-${Date.now()}`)}` } })).toBe(404);
});

test('requests with invalid tokens are limited per address, on both instances together', async () => {
  await startOfWindow(60_000, 15_000);
  const remoteAddress = '10.13.0.9';
  const statuses: number[] = [];
  for (let i = 0; i < limit + 4; i++) {
    statuses.push(await send(i % 2 === 0 ? a.app : b, { method: 'GET', url: '/fhir/Patient/none', remoteAddress, headers: { authorization: `Bearer forged.${i}.${Math.random()}` } }));
    if (i === 3) await sleep(1300);
  }
  expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(limit);
  expect(statuses.slice(-2)).toEqual([429, 429]);
  // A valid token from the same address is its own client.
  expect(await send(a.app, { method: 'GET', url: '/fhir/Patient/none', remoteAddress, headers: { authorization: `Bearer ${await roleToken('clinician', {}, `valido-${Date.now()}`)}` } })).toBe(404);
});

test('failed authentications are audited once per address per interval, with the count of the interval before', async () => {
  const db = connect({ databaseUrl: a.databaseUrl, maxConnections: 1 });
  try {
    const remoteAddress = '10.13.0.10';
    const rows = async () => (await sql<{ facts: string }>`SELECT facts FROM audit_event WHERE facts::jsonb ->> 'clientIp' = ${remoteAddress} ORDER BY seq`.execute(db)).rows.map((r) => JSON.parse(r.facts));
    await startOfWindow(2000, 1500);
    for (const app of [a.app, b, a.app]) await send(app, { method: 'GET', url: '/fhir/Patient/none', remoteAddress, headers: { authorization: 'Bearer not.a.token' } });
    expect(await rows()).toHaveLength(1);
    await sleep(2000 - (Date.now() % 2000) + 50);
    await send(b, { method: 'GET', url: '/fhir/Patient/none', remoteAddress });
    const audited = await rows();
    expect(audited).toHaveLength(2);
    expect(audited[1].status).toBe(401);
    expect(audited[1].outcomeText).toContain('3 failed authentications from this address in the previous 2 s');
  } finally {
    await db.destroy();
  }
});

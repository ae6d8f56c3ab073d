/**
 * Paging cursors are sealed with keys every instance shares through the
 * database: created once on first use, rotated by adding a newer key (which
 * seals from then on, while cursors sealed before still open), retired by
 * removing old ones (their cursors become a 400).
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, expect, test } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { cursorKeyId } from '../../src/search/cursor.ts';
import { retireCursorKeys, rotateCursorKey } from '../../src/search/cursor-keys.ts';
import { connect } from '../../src/store/connect.ts';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { adminToken, testAuth } from '../support/tokens.ts';

const t = useTestApp({ ownDatabase: true });
const others: FastifyInstance[] = [];
afterAll(async () => {
  for (const app of others) await app.close();
});

async function instance(): Promise<FastifyInstance> {
  const app = await buildApp({ databaseUrl: t.databaseUrl, logger: false, auth: testAuth, rateLimitPerMinute: 0, profileEnforcement: 'declared', allowedHosts: ['localhost:80'] });
  others.push(app);
  return app;
}

async function nextCursor(app: FastifyInstance, url: string): Promise<string> {
  const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${adminToken}` } });
  expect(res.statusCode, res.body).toBe(200);
  return new URL(res.json().link.find((l: { relation: string }) => l.relation === 'next').url).searchParams.get('_cursor') ?? '';
}

async function page(app: FastifyInstance, url: string, cursor: string): Promise<number> {
  return (await app.inject({ method: 'GET', url: `${url}&_cursor=${cursor}`, headers: { authorization: `Bearer ${adminToken}` } })).statusCode;
}

test('one key for all instances; rotation keeps old cursors working; retired keys refuse them', async () => {
  const tag = uniqueTag();
  for (let i = 0; i < 3; i++) {
    await t.request({ method: 'POST', url: '/fhir/Basic', headers: fhirJson, payload: { resourceType: 'Basic', meta: { tag: [{ code: tag }] }, code: { text: `b${i}` } } });
  }
  const url = `/fhir/Basic?_tag=${tag}&_count=1`;
  const first = await nextCursor(t.app, url);
  const b = await instance();
  // Sealed by one instance, opened by another.
  expect(await page(b, url, first)).toBe(200);
  expect(cursorKeyId(first)).toBe(1);
  const db = connect({ databaseUrl: t.databaseUrl, maxConnections: 1 });
  try {
    expect(await rotateCursorKey(db)).toBe(2);
    const c = await instance();
    const rotated = await nextCursor(c, url);
    expect(cursorKeyId(rotated)).toBe(2);
    // The instance that sealed with key 1 learns key 2 as soon as it meets a cursor sealed with it.
    expect(await page(t.app, url, rotated)).toBe(200);
    expect(await page(c, url, first)).toBe(200);
    await retireCursorKeys(db, 1);
    const d = await instance();
    expect(await page(d, url, first)).toBe(400);
    expect(await page(d, url, rotated)).toBe(200);
  } finally {
    await db.destroy();
  }
});

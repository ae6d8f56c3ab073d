import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';

const t = useTestApp();

interface Entry {
  fullUrl: string;
  resource?: { id: string; meta: { versionId: string }; gender?: string };
  request: { method: string; url: string };
  response: { status: string; etag: string };
}
interface HistoryBundle {
  resourceType: string;
  type: string;
  link: { relation: string; url: string }[];
  entry: Entry[];
}

async function get(url: string): Promise<HistoryBundle> {
  const res = await t.request({ method: 'GET', url });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

function relative(url: string): string {
  return url.replace(/^https?:\/\/[^/]+/, '');
}

async function threeVersionsThenDelete() {
  const created = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'female' } });
  const id = created.json().id as string;
  await t.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: { resourceType: 'Patient', id, gender: 'male' } });
  await t.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: { resourceType: 'Patient', id, gender: 'other' } });
  await t.request({ method: 'DELETE', url: `/fhir/Patient/${id}` });
  return id;
}

describe('history', () => {
  test('instance history lists every version newest first, the deletion included', async () => {
    const id = await threeVersionsThenDelete();
    const bundle = await get(`/fhir/Patient/${id}/_history`);
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.type).toBe('history');
    expect(bundle.entry.map((e) => e.request.method)).toEqual(['DELETE', 'PUT', 'PUT', 'POST']);
    expect(bundle.entry.map((e) => e.response.etag)).toEqual(['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']);
    expect(bundle.entry[0]?.resource).toBeUndefined();
    expect(bundle.entry[1]?.resource?.gender).toBe('other');
    expect(bundle.entry[3]?.resource?.gender).toBe('female');
    expect(bundle.entry[3]?.fullUrl).toMatch(new RegExp(`/fhir/Patient/${id}$`));
  });

  test('history of an unknown resource is 404', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/Patient/nobody-here/_history' });
    expect(res.statusCode).toBe(404);
  });

  test('_count pages with next links that neither skip nor repeat, even while others write', async () => {
    const id = await threeVersionsThenDelete();
    const first = await get(`/fhir/Patient/${id}/_history?_count=3`);
    expect(first.entry).toHaveLength(3);
    const next = first.link.find((l) => l.relation === 'next');
    expect(next).toBeDefined();
    // A write between pages must not shift the second page.
    await t.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: { resourceType: 'Patient', id, gender: 'unknown' } });
    const second = await get(relative(next!.url));
    expect(second.entry.map((e) => e.response.etag)).toEqual(['W/"1"']);
    expect(second.link.find((l) => l.relation === 'next')).toBeUndefined();
  });

  test('_since keeps only versions written at or after the instant', async () => {
    const created = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'female' } });
    const id = created.json().id as string;
    await new Promise((r) => setTimeout(r, 20));
    const mark = new Date().toISOString();
    await t.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: { resourceType: 'Patient', id, gender: 'male' } });
    const bundle = await get(`/fhir/Patient/${id}/_history?_since=${encodeURIComponent(mark)}`);
    expect(bundle.entry.map((e) => e.response.etag)).toEqual(['W/"2"']);
  });

  test('_at returns the version that was current at that instant', async () => {
    const created = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'female' } });
    const id = created.json().id as string;
    await new Promise((r) => setTimeout(r, 20));
    const mark = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await t.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: { resourceType: 'Patient', id, gender: 'male' } });
    const bundle = await get(`/fhir/Patient/${id}/_history?_at=${encodeURIComponent(mark)}`);
    expect(bundle.entry.map((e) => e.resource?.gender)).toEqual(['female']);
  });

  test('malformed _since, _at and _count are 400 naming the parameter', async () => {
    for (const [param, value] of [
      ['_since', 'yesterday'],
      ['_at', '2024-13-01'],
      ['_count', '-1'],
    ]) {
      const res = await t.request({ method: 'GET', url: `/fhir/Patient/_history?${param}=${value}` });
      expect(res.statusCode, param).toBe(400);
      expect(res.json().issue[0].expression).toEqual([param]);
    }
  });

  test('type history holds only that type; system history holds every type', async () => {
    const tag = uniqueTag();
    const mark = new Date().toISOString();
    const obs = await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: { resourceType: 'Observation', status: 'final', code: { text: tag } } });
    const pat = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ text: tag }] } });
    const since = `_since=${encodeURIComponent(mark)}&_count=1000`;
    const typeHistory = await get(`/fhir/Observation/_history?${since}`);
    expect(typeHistory.entry.every((e) => e.request.url.startsWith('Observation'))).toBe(true);
    expect(typeHistory.entry.some((e) => e.resource?.id === obs.json().id)).toBe(true);
    const systemHistory = await get(`/fhir/_history?${since}`);
    const ids = systemHistory.entry.map((e) => e.resource?.id);
    expect(ids).toContain(obs.json().id);
    expect(ids).toContain(pat.json().id);
  });
});

describe('history sync for mirroring peers', () => {
  test('a version written by a slow transaction is not lost by a peer that syncs with _since = previous Bundle.meta.lastUpdated', async () => {
    const { default: pg } = await import('pg');
    const { inject } = await import('vitest');
    const slow = new pg.Client({ connectionString: inject('databaseUrl') });
    await slow.connect();
    try {
      const tag = uniqueTag();
      // A writer that stamps its version now but commits only after the peer has looked.
      await slow.query('BEGIN');
      const stampedAt = new Date();
      const content = JSON.stringify({ resourceType: 'Basic', id: tag, meta: { versionId: '1', lastUpdated: stampedAt.toISOString(), tag: [{ code: tag }] }, code: { text: 'lento' } });
      await slow.query("INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content) VALUES ('Basic', $1, 1, $2, false, $3)", [tag, stampedAt, content]);
      await new Promise((r) => setTimeout(r, 50));
      const first = (await t.request({ method: 'GET', url: '/fhir/_history?_count=1' })).json();
      expect(first.entry?.some((e: any) => e.resource?.id === tag) ?? false).toBe(false);
      expect(Date.parse(first.meta.lastUpdated)).toBeLessThanOrEqual(stampedAt.getTime());
      await slow.query('COMMIT');
      const next = await t.request({ method: 'GET', url: `/fhir/_history?_since=${encodeURIComponent(first.meta.lastUpdated)}&_count=1000` });
      expect(next.body).toContain(tag);
    } finally {
      await slow.end();
    }
  });
});

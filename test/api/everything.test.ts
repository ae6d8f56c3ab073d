/** Patient/$everything over Synthea patients loaded as transaction bundles, linked records, scopes. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { roleToken } from '../support/tokens.ts';

// Synthea data is US data without CURP: only declared profiles are enforced.
const t = useTestApp({ profileEnforcement: 'declared' });
const synthea = path.resolve(import.meta.dirname, '../fixtures/synthea');

async function everythingOf(id: string, query = '', token?: string): Promise<any[]> {
  const entries: any[] = [];
  let url: string | undefined = `/fhir/Patient/${id}/$everything?_count=25${query}`;
  while (url) {
    const res = await t.request({ method: 'GET', url, ...(token ? { token } : {}) });
    expect(res.statusCode, res.body).toBe(200);
    const bundle = res.json();
    entries.push(...(bundle.entry ?? []));
    const next = bundle.link.find((l: any) => l.relation === 'next')?.url as string | undefined;
    url = next ? next.slice(next.indexOf('/fhir/')) : undefined;
  }
  return entries;
}

describe('$everything', () => {
  for (const file of ['clemente-kreiger.json', 'maria-luisa-razo.json', 'valentin-keeling.json']) {
    test(`${file}: loads as a transaction and $everything returns every resource the bundle had`, async () => {
      const bundle = JSON.parse(readFileSync(path.join(synthea, file), 'utf8'));
      // Fresh fullUrls per run: the test database is shared with other files and earlier runs.
      const text = JSON.stringify(bundle).replaceAll('urn:uuid:', `urn:uuid:${uniqueTag()}-`);
      const res = await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: text });
      expect(res.statusCode, res.body.slice(0, 500)).toBe(200);
      const locations = (res.json().entry as any[]).map((e) => e.response.location as string);
      const patientId = locations.find((l) => l.includes('/Patient/'))!.split('/Patient/')[1]!.split('/')[0]!;
      const entries = await everythingOf(patientId);
      const key = (e: any) => `${e.resource.resourceType}/${e.resource.id}`;
      // Compartment resources come once each; a practitioner or organization may be included again on a later page.
      const matches = entries.filter((e) => e.search.mode === 'match').map(key);
      expect(new Set(matches).size).toBe(matches.length);
      const served = new Set(entries.map(key));
      const loaded = (res.json().entry as any[]).map((e) => e.response.location.split('/fhir/')[1].split('/_history')[0]);
      expect(loaded.filter((l: string) => !served.has(l))).toEqual([]);
      expect(served.size).toBe(bundle.entry.length);
    });
  }

  test('linked records of the same person are included from either side; _type and _since filter', async () => {
    const a = (await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: 'IMSS' }] } })).json();
    const b = (await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: 'ISSSTE' }], link: [{ type: 'seealso', other: { reference: `Patient/${a.id}` } }] } })).json();
    const obsA = (await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: { resourceType: 'Observation', status: 'final', code: { text: 'a' }, subject: { reference: `Patient/${a.id}` } } })).json();
    const obsB = (await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: { resourceType: 'Observation', status: 'final', code: { text: 'b' }, subject: { reference: `Patient/${b.id}` } } })).json();
    for (const id of [a.id, b.id]) {
      const ids = (await everythingOf(id)).map((e) => e.resource.id).sort();
      expect(ids).toEqual([a.id, b.id, obsA.id, obsB.id].sort());
    }
    expect((await everythingOf(a.id, '&_type=Observation')).map((e) => e.resource.resourceType)).toEqual(['Observation', 'Observation']);
    expect(await everythingOf(a.id, `&_since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
  });

  test('a patient token gets its own $everything and, for anyone else’s, the 404 of a patient that does not exist', async () => {
    const mine = (await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient' } })).json();
    const other = (await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient' } })).json();
    const token = await roleToken('patient', { patient: mine.id });
    expect((await everythingOf(mine.id, '', token)).map((e) => e.resource.id)).toEqual([mine.id]);
    const res = await t.request({ method: 'GET', url: `/fhir/Patient/${other.id}/$everything`, token });
    const never = await t.request({ method: 'GET', url: '/fhir/Patient/nobody-at-all/$everything', token });
    expect(res.statusCode).toBe(404);
    expect(res.body.replaceAll(other.id, 'X')).toBe(never.body.replaceAll('nobody-at-all', 'X'));
  });

  test('unknown patient is 404; bad _type is 400', async () => {
    expect((await t.request({ method: 'GET', url: '/fhir/Patient/nobody-here/$everything' })).statusCode).toBe(404);
    const bad = await t.request({ method: 'GET', url: '/fhir/Patient/x/$everything?_type=Nope' });
    expect([400, 404]).toContain(bad.statusCode);
  });
});

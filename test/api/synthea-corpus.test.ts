/**
 * Exchange acceptance: every Synthea bundle of the corpus loads unchanged
 * (batches with conditional creates, transactions with urn:uuid and
 * conditional references), $everything for each patient returns the
 * resources its bundle had (the same count, for self-contained bundles), and
 * each patient's $summary is a valid document Bundle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Bundle } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { validateBase } from '../../src/validation/validate-base.ts';
import { fhirJson, useTestApp } from '../support/app.ts';
import { expectReferencesResolved } from '../support/summary.ts';

// A database of its own: other files POST the same SMART organizations, which would make the hiv bundles'
// conditional references match twice (412) depending on which file ran first.
const t = useTestApp({ profileEnforcement: 'declared', ownDatabase: true });
const corpus = path.resolve(import.meta.dirname, '../fixtures/synthea-corpus');

function load(folder: string, file: string): any {
  return JSON.parse(gunzipSync(readFileSync(path.join(corpus, folder, file))).toString('utf8'));
}

const infoBundle = /^(hospital|practitioner)Information/;

function bundles(folder: string): string[] {
  return readdirSync(path.join(corpus, folder)).filter((f) => f.endsWith('.json.gz')).sort();
}

/** Hospital and practitioner bundles first (patients reference them), then the patients. */
async function loadInformation(folder: string): Promise<void> {
  for (const info of bundles(folder).filter((f) => infoBundle.test(f))) {
    const res = await post(load(folder, info));
    expect(res.statusCode).toBe(200);
    const statuses = new Set((res.json().entry as any[]).map((e) => e.response.status.split(' ')[0]));
    // 201 the first time; 200 where a conditional create found the same identifier already there.
    expect([...statuses].every((s) => s === '201' || s === '200'), [...statuses].join()).toBe(true);
  }
}

async function post(bundle: unknown) {
  return t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: JSON.stringify(bundle) });
}

async function everythingMatches(id: string): Promise<Set<string>> {
  const out = new Set<string>();
  let url: string | undefined = `/fhir/Patient/${id}/$everything?_count=1000`;
  while (url) {
    const res = await t.request({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    // The compartment (match) and the practitioners/organizations it references (include).
    for (const e of body.entry ?? []) if (e.search?.mode !== 'outcome') out.add(`${e.resource.resourceType}/${e.resource.id}`);
    const next = body.link.find((l: any) => l.relation === 'next')?.url as string | undefined;
    url = next ? next.slice(next.indexOf('/fhir/')) : undefined;
  }
  return out;
}

/**
 * Loads a patient transaction and checks $everything against what the server
 * created for it: every created resource is there, and nothing else but, for
 * bundles that reference them conditionally, the hospitals and clinicians of
 * the information batches. A self-contained bundle gets back exactly its own
 * resources: the same count.
 */
async function loadPatient(bundle: any, selfContained: boolean): Promise<void> {
  const res = await post(bundle);
  expect(res.statusCode, res.body.slice(0, 400)).toBe(200);
  const created = (res.json().entry as any[]).map((e) => (e.response.location as string).split('/fhir/')[1]!.split('/_history')[0]!);
  expect(created).toHaveLength(bundle.entry.length);
  const patientId = created.find((c) => c.startsWith('Patient/'))!.slice('Patient/'.length);
  const everything = await everythingMatches(patientId);
  expect(created.filter((c) => !everything.has(c))).toEqual([]);
  const extra = [...everything].filter((r) => !created.includes(r));
  if (selfContained) {
    expect(extra).toEqual([]);
    expect(everything.size).toBe(new Set(created).size);
  } else {
    expect(extra.filter((r) => !/^(Organization|Practitioner|PractitionerRole|Location)\//.test(r))).toEqual([]);
  }
  await expectValidSummary(patientId);
}

/** Issue 8: the patient's $summary is a valid document Bundle, by our own $validate, with every reference inside it. */
async function expectValidSummary(patientId: string): Promise<void> {
  const res = await t.request({ method: 'GET', url: `/fhir/Patient/${patientId}/$summary` });
  expect(res.statusCode, res.body.slice(0, 400)).toBe(200);
  const document = res.json() as Bundle;
  expect(document.type).toBe('document');
  expect(validateBase(document, 'Bundle')).toEqual([]);
  const validated = await t.request({ method: 'POST', url: '/fhir/Bundle/$validate', headers: fhirJson, payload: document });
  expect(validated.json().issue).toEqual([expect.objectContaining({ severity: 'information' })]);
  expectReferencesResolved(document);
}

describe('Synthea corpus', { timeout: 300_000 }, () => {
  test('hiv: hospital and practitioner batches (conditional creates), then every patient transaction with conditional references', async () => {
    await loadInformation('hiv');
    for (const file of bundles('hiv').filter((f) => !infoBundle.test(f))) {
      await loadPatient(load('hiv', file), false);
    }
  });

  test('smart: every patient transaction', async () => {
    await loadInformation('smart');
    for (const file of bundles('smart').filter((f) => !infoBundle.test(f))) {
      await loadPatient(load('smart', file), true);
    }
  });

  test('a conditional reference that matches nothing fails the transaction and names it', async () => {
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, performer: [{ reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|0000000000-none' }] }, request: { method: 'POST', url: 'Observation' } }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].details.text).toMatch(/Practitioner\?identifier=.*no coincide con ningún recurso/);
    expect(res.json().issue[0].expression).toContain('Bundle.entry[0]');
  });
});

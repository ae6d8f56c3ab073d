/** The Mexican search parameters (fhir-profiles/search-parameters.json) through the generic search, and patient tokens in search. */
import type { Organization, Patient } from '@medplum/fhirtypes';
import { beforeAll, expect, test } from 'vitest';
import { mxFixture } from '../fixtures/mx/index.ts';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { roleToken } from '../support/tokens.ts';
import { freshCurp } from '../support/receta.ts';
import { curpSystem } from '../../src/mx/systems.ts';

const t = useTestApp({ profileEnforcement: 'strict' });
const suffix = uniqueTag();
let patient: Patient;
let organization: Organization;

beforeAll(async () => {
  organization = { ...mxFixture<Organization>('organization.json'), id: `org-${suffix}` };
  // A CURP of its own: one active Patient per CURP, and other files write the fixture's.
  const fixture = mxFixture<Patient>('patient.json');
  const curp = freshCurp();
  patient = { ...fixture, id: `pat-${suffix}`, identifier: fixture.identifier?.map((i) => (i.system === curpSystem ? { ...i, value: curp } : i)) };
  for (const r of [organization, patient]) {
    const res = await t.request({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id}`, headers: fhirJson, payload: r });
    expect(res.statusCode, res.body).toBeLessThan(300);
  }
});

function ids(res: { json(): any }): string[] {
  return (res.json().entry ?? []).filter((e: any) => e.search?.mode === 'match').map((e: any) => e.resource.id);
}

test('Patient?curp= and Patient?expediente= find the patient; Organization?clues= the unit', async () => {
  const curp = patient.identifier?.find((i) => i.system === 'urn:oid:2.16.840.1.113883.4.629')?.value;
  const expediente = patient.identifier?.find((i) => i.system?.startsWith('https://ecu-fhir.org/fhir/sid/expediente/'));
  const clues = organization.identifier?.find((i) => i.system === 'urn:oid:2.16.840.1.113883.4.631')?.value;
  expect(ids(await t.request({ method: 'GET', url: `/fhir/Patient?curp=${curp}&_id=${patient.id}` }))).toEqual([patient.id]);
  expect(ids(await t.request({ method: 'GET', url: `/fhir/Patient?expediente=${encodeURIComponent(`${expediente?.system}|${expediente?.value}`)}&_id=${patient.id}` }))).toEqual([patient.id]);
  expect(ids(await t.request({ method: 'GET', url: `/fhir/Organization?clues=${clues}&_id=${organization.id}` }))).toEqual([organization.id]);
  expect(ids(await t.request({ method: 'GET', url: `/fhir/Patient?curp=XXXX000000XXXXXX00&_id=${patient.id}` }))).toEqual([]);
});

test('a patient token searching Observations gets only its own patient’s, counted as if the rest did not exist', async () => {
  const tag = uniqueTag();
  const other = (await t.request({ method: 'POST', url: '/fhir/Basic', headers: fhirJson, payload: { resourceType: 'Basic', code: { text: 'x' } } })).json();
  for (const subject of [`Patient/${patient.id}`, `Basic/${other.id}`, 'Patient/somebody-else']) {
    const res = await t.request({
      method: 'POST',
      url: '/fhir/Observation',
      headers: fhirJson,
      payload: { resourceType: 'Observation', status: 'final', meta: { tag: [{ code: tag }] }, code: { text: 'nota' }, subject: { reference: subject } },
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  const token = await roleToken('patient', { patient: patient.id });
  const res = await t.request({ method: 'GET', url: `/fhir/Observation?_tag=${tag}`, token });
  expect(res.statusCode).toBe(200);
  const matches = (res.json().entry as any[]).filter((e) => e.search?.mode === 'match');
  expect(matches.map((e) => e.resource.subject.reference)).toEqual([`Patient/${patient.id}`]);
  expect((res.json().entry as any[]).some((e) => e.resource.resourceType === 'OperationOutcome')).toBe(false);
  expect(res.json().total).toBe(1);
  // _include cannot smuggle another patient in either.
  const included = await t.request({ method: 'GET', url: `/fhir/Observation?_tag=${tag}&_include=Observation:subject`, token });
  const resources = (included.json().entry as any[]).map((e) => `${e.resource.resourceType}/${e.resource.id ?? ''}`);
  expect(resources.filter((r) => r.startsWith('Basic/'))).toEqual([]);
});

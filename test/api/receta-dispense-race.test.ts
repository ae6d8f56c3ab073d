/**
 * Two server instances (two app objects) on one database, 20 pharmacies
 * dispensing one receta at once through every accepted reference form: the
 * ledger never passes the prescribed quantity and the receta completes
 * exactly at it. The odd forms, sent at the same time, are 400 and count nothing.
 */
import type { Bundle, MedicationDispense, MedicationRequest, Reference } from '@medplum/fhirtypes';
import { beforeAll, expect, test } from 'vitest';
import { folioSystem } from '../../src/receta/systems.ts';
import { fhirJson, useTestApp, type TestApp } from '../support/app.ts';
import { draft, read, recetaWorld, signed, type RecetaWorld } from '../support/receta.ts';
import { roleToken } from '../support/tokens.ts';

const publicBase = 'https://ecu.example.mx/fhir';
const options = { profileEnforcement: 'strict', publicBaseUrl: publicBase, allowedHosts: ['interno.ecu.local:8080'] } as const;
const a = useTestApp({ ...options, allowedHosts: [...options.allowedHosts] });
const b = useTestApp({ ...options, allowedHosts: [...options.allowedHosts] });
let w: RecetaWorld;

beforeAll(async () => {
  w = await recetaWorld(a);
});

function post(t: TestApp, prescription: Reference<MedicationRequest>, token: string) {
  const d: MedicationDispense = { resourceType: 'MedicationDispense', status: 'completed', medicationCodeableConcept: { text: 'Paracetamol 500 mg tabletas' }, authorizingPrescription: [prescription], quantity: { value: 1, unit: 'tableta' } };
  return t.request({ method: 'POST', url: '/fhir/MedicationDispense', headers: fhirJson, payload: d, token });
}

test('20 concurrent dispenses of 1 on a 7-unit receta, every reference form, two instances: exactly 7 pass and the receta completes at 7', async () => {
  const { request, folio } = await signed(a, w, draft(w, (m) => (m.dispenseRequest = { quantity: { value: 7, unit: 'tableta' }, numberOfRepeatsAllowed: 0 })));
  const id = request.id ?? '';
  const forms: Reference<MedicationRequest>[] = [
    { reference: `MedicationRequest/${id}` },
    { reference: `${publicBase}/MedicationRequest/${id}` },
    { reference: `http://interno.ecu.local:8080/fhir/MedicationRequest/${id}` },
    { reference: `MedicationRequest/${id}/_history/${request.meta?.versionId ?? ''}` },
    { identifier: { system: folioSystem(w.clues), value: folio } },
  ];
  const odd = [`MedicationRequest/${id}/`, `./MedicationRequest/${id}`, `/MedicationRequest/${id}`, ` MedicationRequest/${id}`, `MedicationRequest/${id}?x=1`];
  const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => roleToken('pharmacy', { clues: `DFSSA${String(900000 + i)}` }, `${w.tag}-race-${i}`)));
  const [results, refused] = await Promise.all([
    Promise.all(tokens.map((token, i) => post(i % 2 ? b : a, forms[i % forms.length] ?? {}, token))),
    Promise.all(odd.map((reference, i) => post(i % 2 ? a : b, { reference }, tokens[i] ?? ''))),
  ]);
  expect(refused.map((r) => r.statusCode)).toEqual([400, 400, 400, 400, 400]);
  const statuses = results.map((r) => r.statusCode);
  expect(statuses.filter((s) => s === 201), results.map((r) => r.body).join('\n')).toHaveLength(7);
  expect(statuses.filter((s) => s === 409)).toHaveLength(13);
  const made = results.filter((r) => r.statusCode === 201).map((r) => r.json() as MedicationDispense);
  expect(made.reduce((sum, d) => sum + (d.quantity?.value ?? 0), 0)).toBe(7);
  for (const t of [a, b]) expect((await read(t, id)).status).toBe('completed');
  // Exactly one completion, by whichever instance reached the total.
  const history = (await b.request({ method: 'GET', url: `/fhir/MedicationRequest/${id}/_history` })).json() as Bundle<MedicationRequest>;
  expect((history.entry ?? []).map((e) => e.resource?.status)).toEqual(['completed', 'active', 'draft']);
  // Every dispense is found by the prescription it counts against (by reference, or by folio when that is all it gave).
  const byRef = (await a.request({ method: 'GET', url: `/fhir/MedicationDispense?prescription=MedicationRequest/${id}&_count=50` })).json() as Bundle;
  const byFolio = (await b.request({ method: 'GET', url: `/fhir/MedicationDispense?prescription:identifier=${encodeURIComponent(`${folioSystem(w.clues)}|${folio}`)}&_count=50` })).json() as Bundle;
  const found = [...(byRef.entry ?? []), ...(byFolio.entry ?? [])].map((e) => e.resource?.id).sort();
  expect(found).toEqual(made.map((d) => d.id).sort());
});

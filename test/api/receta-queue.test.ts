/** $pharmacy-queue: a pharmacy finds active, signed, unexpired prescriptions by patient CURP, folio or date of issue. */
import type { Bundle, MedicationRequest } from '@medplum/fhirtypes';
import { beforeAll, expect, test } from 'vitest';
import { folioSystem } from '../../src/receta/systems.ts';
import { useTestApp } from '../support/app.ts';
import { create, dispense, draft, put, recetaWorld, signed, type RecetaWorld } from '../support/receta.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp({ profileEnforcement: 'strict' });
let w: RecetaWorld;
let active: { request: MedicationRequest; folio: string };

beforeAll(async () => {
  w = await recetaWorld(t);
  active = await signed(t, w, draft(w));
});

async function queue(query: string, token = w.pharmacy): Promise<string[]> {
  const res = await t.request({ method: 'GET', url: `/fhir/MedicationRequest/$pharmacy-queue?${query}`, token });
  expect(res.statusCode, res.body).toBe(200);
  const bundle = res.json() as Bundle<MedicationRequest>;
  expect(bundle.type).toBe('searchset');
  return (bundle.entry ?? []).map((e) => e.resource?.id ?? '');
}

test('by CURP: only the active, signed ones (no drafts, completed, cancelled or expired)', async () => {
  await create(t, w, draft(w));
  const completed = await signed(t, w, draft(w, (m) => (m.dispenseRequest = { quantity: { value: 1, unit: 'tableta' } })));
  expect((await dispense(t, completed.request.id ?? '', 1, w.pharmacy)).statusCode).toBe(201);
  const cancelled = await signed(t, w, draft(w));
  expect((await put(t, { ...cancelled.request, status: 'cancelled' }, w.doctor)).statusCode).toBe(200);
  await signed(t, w, draft(w, (m) => (m.dispenseRequest = { ...m.dispenseRequest, validityPeriod: { end: '2026-01-31' } })));
  expect(await queue(`curp=${w.curp}`)).toEqual([active.request.id]);
  expect(await queue(`curp=urn:oid:2.16.840.1.113883.4.629|${w.curp}`)).toEqual([active.request.id]);
});

test('by folio (value, or system|value) and by date of issue', async () => {
  expect(await queue(`folio=${folioSystem(w.clues)}|${active.folio}`)).toEqual([active.request.id]);
  expect(await queue(`folio=${active.folio}`)).toContain(active.request.id);
  const today = new Date().toISOString().slice(0, 10);
  expect(await queue(`date=${today}&curp=${w.curp}`)).toEqual([active.request.id]);
  expect(await queue(`date=lt${today}&curp=${w.curp}`)).toEqual([]);
  expect(await queue(`date=ge${today.slice(0, 7)}&curp=${w.curp}`)).toEqual([active.request.id]);
});

test('needs a criterion (400); a pharmacy of any institution may ask; a patient token only sees its own', async () => {
  expect((await t.request({ method: 'GET', url: '/fhir/MedicationRequest/$pharmacy-queue', token: w.pharmacy })).statusCode).toBe(400);
  expect((await t.request({ method: 'GET', url: '/fhir/MedicationRequest/$pharmacy-queue?date=2026-13', token: w.pharmacy })).statusCode).toBe(400);
  expect(await queue(`curp=${w.curp}`, w.otherPharmacy)).toEqual([active.request.id]);
  const stranger = await roleToken('patient', { patient: 'otra-persona' });
  const res = await t.request({ method: 'GET', url: `/fhir/MedicationRequest/$pharmacy-queue?curp=${w.curp}`, token: stranger });
  expect(res.statusCode).toBe(200);
  expect((res.json() as Bundle).entry?.some((e) => e.resource?.resourceType === 'MedicationRequest')).toBe(false);
  // Not even a hint that something was left out: the answer is the one for a CURP nobody has.
  const nobody = await t.request({ method: 'GET', url: '/fhir/MedicationRequest/$pharmacy-queue?curp=XXXX000000HDFXXX00', token: stranger });
  expect(res.body).toBe(nobody.body);
});

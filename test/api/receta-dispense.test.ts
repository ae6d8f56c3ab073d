/** Dispensing recetas: active, signed, unexpired, within the prescribed quantity; the ledger holds under 20 parallel pharmacies. */
import type { AuditEvent, Bundle, MedicationDispense } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { fhirJson, useTestApp } from '../support/app.ts';
import { create, dispense, draft, put, read, type RecetaWorld, recetaWorld, signed, text } from '../support/receta.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp({ profileEnforcement: 'strict' });
let w: RecetaWorld;

beforeAll(async () => {
  w = await recetaWorld(t);
});

const twoUnits = () => draft(w, (m) => (m.dispenseRequest = { quantity: { value: 2, unit: 'tableta' }, numberOfRepeatsAllowed: 0 }));

describe('what may be dispensed', () => {
  test('a draft (unsigned) prescription: 422 naming authorizingPrescription', async () => {
    const m = await create(t, w, draft(w));
    const res = await dispense(t, m.id ?? '', 1, w.pharmacy);
    expect(res.statusCode).toBe(422);
    expect(text(res)).toMatch(/no es una receta firmada/);
    expect(res.json().issue[0].expression).toEqual(['MedicationDispense.authorizingPrescription']);
  });

  test('partial dispenses from two pharmacies up to the quantity; the one reaching it completes the prescription; more is 409', async () => {
    const { request } = await signed(t, w, draft(w));
    expect((await dispense(t, request.id ?? '', 6, w.pharmacy)).statusCode).toBe(201);
    const over = await dispense(t, request.id ?? '', 5, w.otherPharmacy);
    expect(over.statusCode).toBe(409);
    expect(text(over)).toMatch(/Surtir 5 excede lo prescrito .*prescrito 10 \(con resurtidos\), surtido 6, disponible 4/);
    expect((await read(t, request.id ?? '')).status).toBe('active');
    expect((await dispense(t, request.id ?? '', 4, w.otherPharmacy)).statusCode).toBe(201);
    expect((await read(t, request.id ?? '')).status).toBe('completed');
    const after = await dispense(t, request.id ?? '', 1, w.pharmacy);
    expect(after.statusCode).toBe(409);
    expect(text(after)).toMatch(/está completed/);
  });

  test('refills count: quantity × (1 + numberOfRepeatsAllowed)', async () => {
    const { request } = await signed(t, w, draft(w, (m) => (m.dispenseRequest = { quantity: { value: 10, unit: 'tableta' }, numberOfRepeatsAllowed: 1 })));
    expect((await dispense(t, request.id ?? '', 15, w.pharmacy)).statusCode).toBe(201);
    expect((await dispense(t, request.id ?? '', 6, w.pharmacy)).statusCode).toBe(409);
    expect((await dispense(t, request.id ?? '', 5, w.pharmacy)).statusCode).toBe(201);
  });

  test('expired (validityPeriod.end passed): 422; not yet valid: 422', async () => {
    const expired = await signed(t, w, draft(w, (m) => (m.dispenseRequest = { ...m.dispenseRequest, validityPeriod: { start: '2026-01-01', end: '2026-01-31' } })));
    const res = await dispense(t, expired.request.id ?? '', 1, w.pharmacy);
    expect(res.statusCode).toBe(422);
    expect(text(res)).toMatch(/venció el 2026-02-01T00:00:00.000Z/);
    const future = await signed(t, w, draft(w, (m) => (m.dispenseRequest = { ...m.dispenseRequest, validityPeriod: { start: '2099-01-01' } })));
    expect((await dispense(t, future.request.id ?? '', 1, w.pharmacy)).statusCode).toBe(422);
  });

  test('cancelled or stopped prescriptions are not dispensed (409)', async () => {
    for (const status of ['cancelled', 'stopped'] as const) {
      const { request } = await signed(t, w, draft(w));
      expect((await put(t, { ...request, status }, w.doctor)).statusCode).toBe(200);
      expect((await dispense(t, request.id ?? '', 1, w.pharmacy)).statusCode).toBe(409);
    }
  });

  test('only a pharmacy dispenses; quantity and unit must be stated and match', async () => {
    const { request } = await signed(t, w, draft(w));
    expect((await dispense(t, request.id ?? '', 1, w.doctor)).statusCode).toBe(403);
    expect((await dispense(t, request.id ?? '', 1, w.pharmacy, (d) => delete d.quantity)).statusCode).toBe(422);
    const unit = await dispense(t, request.id ?? '', 1, w.pharmacy, (d) => (d.quantity = { value: 1, unit: 'caja' }));
    expect(unit.statusCode).toBe(422);
    expect(text(unit)).toMatch(/La unidad surtida "caja" no es la prescrita "tableta"/);
  });

  test('entered-in-error gives the quantity back; a receta dispense is never deleted; it cannot move to another prescription', async () => {
    const { request } = await signed(t, w, draft(w));
    const other = await signed(t, w, draft(w));
    const first = (await dispense(t, request.id ?? '', 8, w.pharmacy)).json() as MedicationDispense;
    expect((await t.request({ method: 'DELETE', url: `/fhir/MedicationDispense/${first.id ?? ''}`, token: w.pharmacy })).statusCode).toBe(409);
    expect((await put(t, { ...first, authorizingPrescription: [{ reference: `MedicationRequest/${other.request.id ?? ''}` }] }, w.pharmacy)).statusCode).toBe(422);
    expect((await dispense(t, request.id ?? '', 8, w.pharmacy)).statusCode).toBe(409);
    expect((await put(t, { ...first, status: 'entered-in-error' }, w.pharmacy)).statusCode).toBe(200);
    expect((await dispense(t, request.id ?? '', 8, w.pharmacy)).statusCode).toBe(201);
  });
});

describe('concurrency', () => {
  test('20 parallel dispenses of 1 unit on a 2-unit prescription: exactly 2 succeed, 18 are 409, every request audited', async () => {
    const { request } = await signed(t, w, twoUnits());
    const id = request.id ?? '';
    const pharmacies = await Promise.all(Array.from({ length: 20 }, (_, i) => roleToken('pharmacy', { clues: `DFSSA${String(i).padStart(6, '0')}` }, `${w.tag}-carrera-${i}`)));
    const results = await Promise.all(pharmacies.map((token) => dispense(t, id, 1, token)));
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(2);
    expect(statuses.filter((s) => s === 409)).toHaveLength(18);
    expect((await read(t, id)).status).toBe('completed');
    // Exactly two dispenses are stored for the prescription.
    const winners = results.filter((r) => r.statusCode === 201).map((r) => (r.json() as MedicationDispense).id ?? '');
    for (const dispenseId of winners) {
      expect((await t.request({ method: 'GET', url: `/fhir/MedicationDispense/${dispenseId}` })).statusCode).toBe(200);
    }
    // One audit record per request: 2 successful creates (plus the completion of the prescription) and 18 refusals.
    const events: AuditEvent[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await t.request({ method: 'GET', url: `/fhir/AuditEvent?agent=${w.tag}-carrera-${i}&_count=10`, headers: fhirJson });
      events.push(...((res.json() as Bundle<AuditEvent>).entry ?? []).map((e) => e.resource as AuditEvent));
    }
    const creates = events.filter((e) => e.entity?.some((x) => x.what?.reference?.startsWith('MedicationDispense')) || e.outcome !== '0');
    expect(creates.filter((e) => e.outcome === '0')).toHaveLength(2);
    expect(creates.filter((e) => e.outcome !== '0')).toHaveLength(18);
    expect(events.filter((e) => e.entity?.some((x) => x.what?.reference?.startsWith(`MedicationRequest/${id}`)))).toHaveLength(1);
  });

  test('the row lock, not the completion, stops over-dispensing: 20 parallel dispenses of 2 on a 3-unit prescription → exactly one', async () => {
    // No dispense here can reach the total (2 < 3, 4 > 3), so nothing but the lock keeps a second one out.
    const { request } = await signed(t, w, draft(w, (m) => (m.dispenseRequest = { quantity: { value: 3, unit: 'tableta' } })));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? w.pharmacy : w.otherPharmacy)).map((token) => dispense(t, request.id ?? '', 2, token)));
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 409)).toHaveLength(19);
    expect((await read(t, request.id ?? '')).status).toBe('active');
    expect((await dispense(t, request.id ?? '', 1, w.pharmacy)).statusCode).toBe(201);
    expect((await read(t, request.id ?? '')).status).toBe('completed');
  });
});

import type { MedicationRequest } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { checkReceta, endInstant, stricterGroup, type ControlledGroup } from './controlled.ts';
import { specialFolioSystem } from './systems.ts';

const issuedAt = new Date('2026-11-20T16:00:00Z');

function rx(over: Partial<MedicationRequest> = {}, dispense: NonNullable<MedicationRequest['dispenseRequest']> = {}): MedicationRequest {
  return { resourceType: 'MedicationRequest', id: 'r1', status: 'draft', intent: 'order', subject: { reference: 'Patient/p' }, dispenseRequest: { quantity: { value: 1, unit: 'caja' }, ...dispense }, ...over };
}

function texts(lines: { request: MedicationRequest; group?: ControlledGroup }[]): string {
  return checkReceta(lines, issuedAt).issues.map((i) => i.details?.text).join('\n');
}

describe('controlled substances on sign', () => {
  test('group I: special form folio, alone on the receta, once, at most 30 days of treatment, valid 30 days', () => {
    const ok = rx({ identifier: [{ system: specialFolioSystem, value: 'CB-123' }] }, { expectedSupplyDuration: { value: 30, unit: 'd', code: 'd' } });
    const result = checkReceta([{ request: ok, group: 'I' }], issuedAt);
    expect(result.issues).toEqual([]);
    expect(result.limits[0]).toMatchObject({ maxTotal: 1, maxDispenses: 1, validUntil: new Date('2026-12-20T16:00:00Z') });
    expect(result.limits[0]?.filledValidity?.end).toBe('2026-12-20T16:00:00.000Z');
    expect(texts([{ request: rx({}, { expectedSupplyDuration: { value: 30, code: 'd' } }), group: 'I' }])).toMatch(/recetario especial COFEPRIS/);
    expect(texts([{ request: ok, group: 'I' }, { request: rx({ id: 'r2' }) }])).toMatch(/va solo en su receta; esta receta tiene 2/);
    expect(texts([{ request: rx({ identifier: ok.identifier }, { expectedSupplyDuration: { value: 5, code: 'wk' } }), group: 'I' }])).toMatch(/a lo sumo 30 días, no 35/);
    expect(texts([{ request: rx({ identifier: ok.identifier }), group: 'I' }])).toMatch(/indique la duración del tratamiento/);
    expect(texts([{ request: rx({ identifier: ok.identifier }, { expectedSupplyDuration: { value: 3, code: 'd' }, numberOfRepeatsAllowed: 1 }), group: 'I' }])).toMatch(/a lo sumo 0 resurtidos/);
  });

  test('group II: once, at most 2 presentations, valid 30 days (a longer stated validity is refused)', () => {
    expect(texts([{ request: rx({}, { quantity: { value: 2, unit: 'caja' } }), group: 'II' }])).toBe('');
    expect(texts([{ request: rx({}, { quantity: { value: 3, unit: 'caja' } }), group: 'II' }])).toMatch(/a lo sumo 2 presentaciones, no 3/);
    expect(texts([{ request: rx({}, { validityPeriod: { end: '2027-01-31' } }), group: 'II' }])).toMatch(/la vigencia es de a lo sumo 30 días/);
    const stated = checkReceta([{ request: rx({}, { validityPeriod: { end: '2026-12-01' } }), group: 'II' }], issuedAt).limits[0];
    expect(stated?.validUntil).toEqual(new Date('2026-12-02T00:00:00Z'));
    expect(stated?.filledValidity).toBeUndefined();
  });

  test('group III: up to three dispenses within six months', () => {
    const result = checkReceta([{ request: rx({}, { numberOfRepeatsAllowed: 2, quantity: { value: 30, unit: 'tableta' } }), group: 'III' }], issuedAt);
    expect(result.issues).toEqual([]);
    expect(result.limits[0]).toMatchObject({ maxTotal: 90, maxDispenses: 3, validUntil: new Date('2027-05-20T16:00:00Z') });
    expect(texts([{ request: rx({}, { numberOfRepeatsAllowed: 3 }), group: 'III' }])).toMatch(/a lo sumo 2 resurtidos/);
  });

  test('not controlled (or group IV): refills as written, no dispense count, validity only if stated; quantity always required', () => {
    const result = checkReceta([{ request: rx({}, { numberOfRepeatsAllowed: 5 }), group: 'IV' }, { request: rx({ id: 'r2' }) }], issuedAt);
    expect(result.issues).toEqual([]);
    expect(result.limits[0]).toEqual({ maxTotal: 6, unit: 'caja' });
    expect(texts([{ request: { ...rx(), dispenseRequest: {} } }])).toMatch(/debe indicar la cantidad a surtir/);
  });

  test('helpers: the stricter group wins; a date-only end covers its whole day', () => {
    expect(stricterGroup('IV', 'II')).toBe('II');
    expect(stricterGroup(undefined, 'III')).toBe('III');
    expect(endInstant('2026-12-01')).toEqual(new Date('2026-12-02T00:00:00Z'));
    expect(endInstant('2026-12-01T10:00:00-06:00')).toEqual(new Date('2026-12-01T16:00:00Z'));
  });
});

import type { MedicationDispense, Quantity } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { quantityProblem, sameUnit } from './dispense-quantity.ts';

const ucum = 'http://unitsofmeasure.org';
const dispensing = (quantity?: Quantity): MedicationDispense => ({ resourceType: 'MedicationDispense', status: 'completed', quantity });

describe('sameUnit', () => {
  test.each<[Quantity | undefined, Quantity, boolean]>([
    [{ unit: 'tableta' }, { value: 1, unit: 'tableta' }, true],
    [{ unit: 'tableta' }, { value: 1, code: 'tableta' }, true],
    [{ unit: 'tableta' }, { value: 1, unit: 'caja' }, false],
    [{ unit: 'tableta' }, { value: 1, unit: 'caja', code: 'tableta' }, false],
    [{ unit: 'mL', system: ucum, code: 'mL' }, { value: 1, system: ucum, code: 'mL' }, true],
    [{ unit: 'mL', system: ucum, code: 'mL' }, { value: 1, code: 'mL' }, true],
    [{ unit: 'mL', system: ucum, code: 'mL' }, { value: 1, unit: 'mL' }, true],
    [{ unit: 'mL', system: ucum, code: 'mL' }, { value: 1, system: ucum, code: 'L' }, false],
    [{ unit: 'mL', system: ucum, code: 'mL' }, { value: 1, system: 'http://snomed.info/sct', code: 'mL' }, false],
    [{ unit: 'mililitro', system: ucum, code: 'mL' }, { value: 1, unit: 'mL' }, true],
    [{ unit: 'mililitro', system: ucum, code: 'mL' }, { value: 1, unit: 'L' }, false],
    [undefined, { value: 1, unit: 'caja' }, true],
  ])('prescribed %j, dispensed %j → %s', (prescribed, dispensed, same) => {
    expect(sameUnit(prescribed, dispensed)).toBe(same);
  });
});

describe('quantityProblem', () => {
  test('a counted dispense needs a quantity', () => {
    expect(quantityProblem(dispensing(), { unit: 'tableta' })?.en).toMatch(/must state the quantity/);
  });

  test('a bare number, zero or a negative is refused, even with a unit', () => {
    expect(quantityProblem(dispensing({ value: 2 }), { unit: 'tableta' })?.en).toMatch(/must carry the prescribed unit \(quantity.code or quantity.unit: tableta\)/);
    expect(quantityProblem(dispensing({ value: 0, unit: 'tableta' }), { unit: 'tableta' })?.en).toMatch(/greater than zero/);
    expect(quantityProblem(dispensing({ value: -1, unit: 'tableta' }), { unit: 'tableta' })?.en).toMatch(/greater than zero/);
    expect(quantityProblem(dispensing({ value: 2, unit: 'tableta' }), { unit: 'tableta' })).toBeUndefined();
  });
});

/**
 * What a dispense counts against its receta: a quantity in the prescribed
 * unit (dispenseRequest.quantity of the signed prescription), UCUM or the
 * receta's own dispense unit. A number without a unit, or in another unit,
 * cannot be counted against the prescribed total (no conversions: 1 caja
 * is not known to be 10 tabletas).
 */
import type { MedicationDispense, Quantity } from '@medplum/fhirtypes';
import { FhirError, issue, type Message } from '../fhir/errors.ts';

const where = 'MedicationDispense.quantity';

function unitName(q: Quantity | undefined): string {
  return [q?.code, q?.unit].filter(Boolean).join(' / ') || '—';
}

/**
 * Whether `dispensed` is in the unit of `prescribed`: the same code (and
 * system, when both give one); without a code, a unit that is the
 * prescribed unit or code; when the prescription names its unit only by
 * text, that text as unit (or as code, with no other unit).
 */
export function sameUnit(prescribed: Quantity | undefined, dispensed: Quantity): boolean {
  if (prescribed?.code) {
    if (dispensed.code) {
      return dispensed.code === prescribed.code && (!dispensed.system || !prescribed.system || dispensed.system === prescribed.system);
    }
    return dispensed.unit !== undefined && (dispensed.unit === prescribed.unit || dispensed.unit === prescribed.code);
  }
  if (prescribed?.unit) {
    return dispensed.unit === prescribed.unit || (!dispensed.unit && dispensed.code === prescribed.unit);
  }
  // The prescription states no unit: any stated unit is as good as another.
  return true;
}

/** The problem with the quantity of a dispense that counts against its receta, if any. */
export function quantityProblem(dispense: MedicationDispense, prescribed: Quantity | undefined): Message | undefined {
  const q = dispense.quantity;
  if (!q) {
    return { es: 'El surtido de una receta debe indicar la cantidad surtida (quantity)', en: 'A receta dispense must state the quantity dispensed (quantity)' };
  }
  if (typeof q.value !== 'number' || !(q.value > 0)) {
    return { es: 'La cantidad surtida (quantity.value) debe ser un número mayor que cero', en: 'The quantity dispensed (quantity.value) must be a number greater than zero' };
  }
  if (!q.code && !q.unit) {
    return {
      es: `La cantidad surtida debe llevar la unidad prescrita (quantity.code o quantity.unit: ${unitName(prescribed)})`,
      en: `The quantity dispensed must carry the prescribed unit (quantity.code or quantity.unit: ${unitName(prescribed)})`,
    };
  }
  if (!sameUnit(prescribed, q)) {
    return { es: `La unidad surtida "${unitName(q)}" no es la prescrita "${unitName(prescribed)}"`, en: `The dispensed unit "${unitName(q)}" is not the prescribed "${unitName(prescribed)}"` };
  }
  return undefined;
}

export function requireQuantity(dispense: MedicationDispense, prescribed: Quantity | undefined): void {
  const problem = quantityProblem(dispense, prescribed);
  if (problem) {
    throw new FhirError(422, [issue(dispense.quantity ? 'business-rule' : 'required', problem, where)]);
  }
}

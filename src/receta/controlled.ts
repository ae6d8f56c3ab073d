/**
 * Rules a receta must meet when signed, by the group of each medicine under
 * Ley General de Salud art. 226 (table and sources: src/mx/README.md).
 * Pure: the caller supplies each line's group (from the catalogue) and the
 * moment of issue; the answer is every problem found plus the limits the
 * dispense ledger will hold each prescription to.
 */
import type { Duration, MedicationRequest, OperationOutcomeIssue, Period } from '@medplum/fhirtypes';
import { issue } from '../fhir/errors.ts';
import { specialFolioSystem } from './systems.ts';

export const controlledGroups = ['I', 'II', 'III', 'IV', 'V', 'VI'] as const;
export type ControlledGroup = (typeof controlledGroups)[number];

export function isControlledGroup(value: unknown): value is ControlledGroup {
  return typeof value === 'string' && (controlledGroups as readonly string[]).includes(value);
}

/** The stricter of two groups (I is the strictest). */
export function stricterGroup(a: ControlledGroup | undefined, b: ControlledGroup | undefined): ControlledGroup | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return controlledGroups.indexOf(a) <= controlledGroups.indexOf(b) ? a : b;
}

export interface GroupRule {
  /** Needs the COFEPRIS special prescription form's barcode/folio (identifier with specialFolioSystem). */
  specialFolio?: boolean;
  /** The receta may hold this one medicine only. */
  onePerReceta?: boolean;
  /** Largest numberOfRepeatsAllowed (0: dispensed once). */
  maxRepeats?: number;
  /** Largest dispenseRequest.quantity.value (presentations). */
  maxQuantity?: number;
  /** Longest treatment (expectedSupplyDuration or dosage boundsDuration), days; required when set. */
  maxTreatmentDays?: number;
  /** Validity from issue; the server fills validityPeriod when absent and refuses a longer one. */
  validity?: { days?: number; months?: number };
  /** The number of dispenses is limited to 1 + numberOfRepeatsAllowed (each dispense recorded). */
  countDispenses?: boolean;
}

/** Defaults from the README table; I–III are the controlled groups, IV–VI carry no rule beyond the quantity. */
export const groupRules: Record<ControlledGroup, GroupRule> = {
  I: { specialFolio: true, onePerReceta: true, maxRepeats: 0, maxTreatmentDays: 30, validity: { days: 30 }, countDispenses: true },
  II: { maxRepeats: 0, maxQuantity: 2, validity: { days: 30 }, countDispenses: true },
  III: { maxRepeats: 2, validity: { months: 6 }, countDispenses: true },
  IV: {},
  V: {},
  VI: {},
};

export interface SignLine {
  request: MedicationRequest;
  group?: ControlledGroup;
}

export interface LineLimits {
  /** quantity × (1 + numberOfRepeatsAllowed). */
  maxTotal: number;
  unit?: string;
  maxDispenses?: number;
  validFrom?: Date;
  validUntil?: Date;
  /** Set when the server fills dispenseRequest.validityPeriod (it becomes part of the signed content). */
  filledValidity?: Period;
}

const unitDays: Record<string, number> = { min: 1 / 1440, h: 1 / 24, d: 1, wk: 7, mo: 30, a: 365 };

function days(duration: Duration | undefined): number | undefined {
  const factor = unitDays[duration?.code ?? duration?.unit ?? ''];
  return typeof duration?.value === 'number' && factor !== undefined ? duration.value * factor : undefined;
}

/** The instant a FHIR date/dateTime period end stands for: a partial date covers its whole day, month or year. */
export function endInstant(value: string): Date {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value);
  if (!m) return new Date(value);
  const [, y, mo, d] = m;
  if (d) return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d) + 1));
  if (mo) return new Date(Date.UTC(Number(y), Number(mo), 1));
  return new Date(Date.UTC(Number(y) + 1, 0, 1));
}

function addValidity(from: Date, validity: { days?: number; months?: number }): Date {
  const out = new Date(from);
  if (validity.months) out.setUTCMonth(out.getUTCMonth() + validity.months);
  if (validity.days) out.setUTCDate(out.getUTCDate() + validity.days);
  return out;
}

export function checkReceta(lines: readonly SignLine[], issuedAt: Date): { issues: OperationOutcomeIssue[]; limits: LineLimits[] } {
  const issues: OperationOutcomeIssue[] = [];
  const limits = lines.map(({ request, group }) => {
    const at = (element: string) => `MedicationRequest.${element}`;
    const who = `MedicationRequest/${request.id ?? ''}`;
    const fail = (element: string, es: string, en: string) => issues.push(issue('business-rule', { es: `${who}: ${es}`, en: `${who}: ${en}` }, at(element)));
    const quantity = request.dispenseRequest?.quantity;
    const repeats = request.dispenseRequest?.numberOfRepeatsAllowed ?? 0;
    if (typeof quantity?.value !== 'number' || quantity.value <= 0) {
      fail('dispenseRequest.quantity', 'la receta debe indicar la cantidad a surtir (dispenseRequest.quantity)', 'the prescription must state the quantity to dispense (dispenseRequest.quantity)');
    }
    const limit: LineLimits = { maxTotal: (quantity?.value ?? 0) * (1 + repeats), unit: quantity?.code ?? quantity?.unit };
    const given = request.dispenseRequest?.validityPeriod;
    if (given?.start) limit.validFrom = new Date(given.start);
    if (given?.end) limit.validUntil = endInstant(given.end);
    const rule = group ? groupRules[group] : {};
    const name = `grupo ${group ?? ''}`;
    const en = `group ${group ?? ''}`;
    if (rule.specialFolio && !(request.identifier ?? []).some((id) => id.system === specialFolioSystem && id.value)) {
      fail('identifier', `un medicamento del ${name} (estupefaciente) requiere el folio o código de barras del recetario especial COFEPRIS (identifier con system ${specialFolioSystem})`, `a ${en} medicine (narcotic) requires the barcode/folio of the COFEPRIS special prescription form (identifier with system ${specialFolioSystem})`);
    }
    if (rule.onePerReceta && lines.length > 1) {
      fail('groupIdentifier', `un medicamento del ${name} va solo en su receta; esta receta tiene ${lines.length} medicamentos`, `a ${en} medicine must be alone on its prescription; this one has ${lines.length} medicines`);
    }
    if (rule.maxRepeats !== undefined && repeats > rule.maxRepeats) {
      fail('dispenseRequest.numberOfRepeatsAllowed', `${name}: a lo sumo ${rule.maxRepeats} resurtidos (${rule.maxRepeats + 1} surtidos), no ${repeats}`, `${en}: at most ${rule.maxRepeats} refills (${rule.maxRepeats + 1} dispenses), not ${repeats}`);
    }
    if (rule.maxQuantity !== undefined && (quantity?.value ?? 0) > rule.maxQuantity) {
      fail('dispenseRequest.quantity', `${name}: a lo sumo ${rule.maxQuantity} presentaciones, no ${quantity?.value ?? ''}`, `${en}: at most ${rule.maxQuantity} presentations, not ${quantity?.value ?? ''}`);
    }
    if (rule.maxTreatmentDays !== undefined) {
      const duration = days(request.dispenseRequest?.expectedSupplyDuration) ?? Math.max(-1, ...(request.dosageInstruction ?? []).map((d) => days(d.timing?.repeat?.boundsDuration) ?? -1));
      if (duration < 0) {
        fail('dispenseRequest.expectedSupplyDuration', `${name}: indique la duración del tratamiento (expectedSupplyDuration o timing.repeat.boundsDuration)`, `${en}: state the treatment duration (expectedSupplyDuration or timing.repeat.boundsDuration)`);
      } else if (duration > rule.maxTreatmentDays) {
        fail('dispenseRequest.expectedSupplyDuration', `${name}: el tratamiento cubre a lo sumo ${rule.maxTreatmentDays} días, no ${duration}`, `${en}: the treatment covers at most ${rule.maxTreatmentDays} days, not ${duration}`);
      }
    }
    if (rule.validity) {
      const legalEnd = addValidity(issuedAt, rule.validity);
      const span = rule.validity.months ? `${rule.validity.months} meses / ${rule.validity.months} months` : `${rule.validity.days ?? 0} días / ${rule.validity.days ?? 0} days`;
      if (limit.validUntil && limit.validUntil > legalEnd) {
        fail('dispenseRequest.validityPeriod.end', `${name}: la vigencia es de a lo sumo ${span.split(' / ')[0]} desde la emisión (hasta ${legalEnd.toISOString()})`, `${en}: valid at most ${span.split(' / ')[1]} from issue (until ${legalEnd.toISOString()})`);
      }
      if (!limit.validUntil) {
        limit.validUntil = legalEnd;
        limit.filledValidity = { start: given?.start ?? issuedAt.toISOString(), end: legalEnd.toISOString() };
      }
    }
    if (rule.countDispenses) {
      limit.maxDispenses = 1 + repeats;
    }
    return limit;
  });
  return { issues, limits };
}

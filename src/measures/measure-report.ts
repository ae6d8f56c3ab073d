/**
 * A measure's grouped rows as a summary MeasureReport
 * (https://hl7.org/fhir/R4/measurereport.html): the total as
 * group.population.count, each stratifier asked for as group.stratifier
 * with one stratum per value (several dimensions: stratum.component), in
 * Spanish displays, most frequent first. Pure.
 */
import type { CodeableConcept, Extension, MeasureReport, MeasureReportGroup, MeasureReportGroupStratifier, Quantity } from '@medplum/fhirtypes';
import { cluesSystem, ecuCanonicalBase } from '../mx/systems.ts';
import { actCodeSystem } from '../referral/systems.ts';
import { levelSystem } from '../summary/units.ts';
import { measureUrl, relacionTemporalSystem, stratifierSystem, type Dimension, type MeasureDef, type StratifierDef } from './definitions.ts';
import { groupingMask, usedDimensions, type MeasureRow } from './measure-sql.ts';

export const p90Extension = `${ecuCanonicalBase}/StructureDefinition/percentil-90`;

/** Names of coded values the report shows, per dimension (units, specialties, scanners come from the record). */
export type Displays = Partial<Record<Dimension, ReadonlyMap<string, string>>>;

const fixedDisplays: Displays = {
  nivel: new Map([
    ['1', 'Primer nivel'],
    ['2', 'Segundo nivel'],
    ['3', 'Tercer nivel'],
  ]),
  clase: new Map([
    ['AMB', 'Consulta presencial (ambulatoria)'],
    ['VR', 'Consulta por telemedicina (virtual)'],
  ]),
  estado: new Map([
    ['draft', 'Borrador'],
    ['requested', 'Solicitada'],
    ['received', 'Recibida'],
    ['accepted', 'Aceptada'],
    ['rejected', 'Rechazada'],
    ['ready', 'Lista'],
    ['cancelled', 'Cancelada'],
    ['in-progress', 'En curso'],
    ['on-hold', 'En espera'],
    ['failed', 'Fallida'],
    ['completed', 'Concluida'],
    ['entered-in-error', 'Registrada por error'],
  ]),
  evento: new Map([
    ['emitida', 'Receta emitida (firmada)'],
    ['surtida', 'Surtido'],
    ['vencida', 'Vencida sin surtir por completo'],
  ]),
  grupo: new Map([
    ['I', 'Grupo I (estupefacientes)'],
    ['II', 'Grupo II (psicotrópicos)'],
    ['III', 'Grupo III (psicotrópicos)'],
  ]),
  relacion: new Map([
    ['primera-vez', 'Primera vez'],
    ['subsecuente', 'Subsecuente'],
  ]),
  modalidad: new Map([
    ['CT', 'Tomografía computarizada'],
    ['MR', 'Resonancia magnética'],
    ['CR', 'Radiografía computarizada'],
    ['DX', 'Radiografía digital'],
    ['US', 'Ultrasonido'],
    ['MG', 'Mastografía'],
    ['NM', 'Medicina nuclear'],
    ['PT', 'Tomografía por emisión de positrones'],
    ['XA', 'Angiografía'],
  ]),
};

const dimensionSystems: Partial<Record<Dimension, string>> = {
  unidad: cluesSystem,
  unidad_referente: cluesSystem,
  nivel: levelSystem,
  clase: actCodeSystem,
  estado: 'http://hl7.org/fhir/task-status',
  modalidad: 'http://dicom.nema.org/resources/ontology/DCM',
  relacion: relacionTemporalSystem,
};

export const noValue = { code: 'sin-dato', display: 'Sin dato' };

export function displayOf(dimension: Dimension, value: string | null, displays: Displays): string {
  if (value === null) return noValue.display;
  return displays[dimension]?.get(value) ?? fixedDisplays[dimension]?.get(value) ?? value;
}

export function stratumValue(dimension: Dimension, value: string | null, displays: Displays): CodeableConcept {
  const display = displayOf(dimension, value, displays);
  if (value === null) return { coding: [{ system: stratifierSystem, code: noValue.code, display }], text: display };
  const system = dimensionSystems[dimension];
  return { coding: [{ ...(system ? { system } : {}), code: value, display }], text: display };
}

const population = (code: string) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-population', code }] });

function days(value: string | null): Quantity | undefined {
  return value === null ? undefined : { value: Number(Number(value).toFixed(2)), unit: 'días', system: 'http://unitsofmeasure.org', code: 'd' };
}

function p90(value: string | null): Extension[] {
  const q = days(value);
  return q ? [{ url: p90Extension, valueQuantity: q }] : [];
}

function stratifierCode(s: StratifierDef): CodeableConcept {
  return { coding: [{ system: stratifierSystem, code: s.code, display: s.display }], text: s.display };
}

/** Most frequent first; among equals by value, 'Sin dato' last. Keys made once per row (a national report: up to 1,000 units × 12 specialties). */
function byCountThenValue(rows: readonly MeasureRow[], dims: readonly Dimension[]): MeasureRow[] {
  const keyed = rows.map((r) => ({ r, key: dims.map((d) => r.values[d] ?? '\uffff').join('\u0000') }));
  keyed.sort((a, b) => (b.r.count !== a.r.count ? b.r.count - a.r.count : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.r);
}

function stratifier(s: StratifierDef, rows: readonly MeasureRow[], displays: Displays, scored: boolean, used: readonly Dimension[]): MeasureReportGroupStratifier {
  const mask = groupingMask(s.dimensions, used);
  const mine = byCountThenValue(rows.filter((r) => r.mask === mask), s.dimensions);
  return {
    code: [stratifierCode(s)],
    stratum: mine.map((r) => ({
      ...(s.dimensions.length === 1
        ? { value: stratumValue(s.dimensions[0] as Dimension, r.values[s.dimensions[0] as Dimension] ?? null, displays) }
        : { component: s.dimensions.map((d) => ({ code: { coding: [{ system: stratifierSystem, code: d }], text: d }, value: stratumValue(d, r.values[d] ?? null, displays) })) }),
      population: [{ code: population(scored ? 'measure-population' : 'initial-population'), count: scored ? r.measured : r.count }],
      ...(scored && r.measured > 0 ? { measureScore: days(r.median), extension: p90(r.p90) } : {}),
    })),
  };
}

export interface ReportInput {
  def: MeasureDef;
  stratifiers: readonly StratifierDef[];
  rows: readonly MeasureRow[];
  displays: Displays;
  periodStart: string;
  periodEnd: string;
  /** `Organization/id` when the report is about one unit. */
  subject?: string;
  now: Date;
  /** A unit-level caller's units: the report says it covers only those. */
  restrictedTo?: readonly string[];
}

export function measureReport(input: ReportInput): MeasureReport {
  const { def, rows, displays } = input;
  const used = usedDimensions(input.stratifiers.map((s) => s.dimensions));
  const total = rows.find((r) => r.mask === groupingMask([], used));
  const groups: MeasureReportGroup[] = [
    {
      code: { text: def.title },
      population: [{ code: population('initial-population'), count: total?.count ?? 0 }],
      ...(input.stratifiers.length > 0 ? { stratifier: input.stratifiers.map((s) => stratifier(s, rows, displays, false, used)) } : {}),
    },
  ];
  if (def.turnaround) {
    groups.push({
      code: { text: 'Tiempo de respuesta (días desde la solicitud hasta la conclusión): mediana; percentil 90 en la extensión percentil-90' },
      population: [{ code: population('measure-population'), count: total?.measured ?? 0 }],
      ...((total?.measured ?? 0) > 0 ? { measureScore: days(total?.median ?? null), extension: p90(total?.p90 ?? null) } : {}),
      ...(input.stratifiers.length > 0 ? { stratifier: input.stratifiers.map((s) => stratifier(s, rows, displays, true, used)) } : {}),
    });
  }
  return {
    resourceType: 'MeasureReport',
    status: 'complete',
    type: 'summary',
    measure: measureUrl(def),
    ...(input.subject ? { subject: { reference: input.subject } } : {}),
    date: input.now.toISOString(),
    reporter: { display: 'ECU FHIR' },
    period: { start: input.periodStart, end: input.periodEnd },
    ...(input.restrictedTo
      ? { extension: [{ url: `${ecuCanonicalBase}/StructureDefinition/unidades-del-informe`, valueString: `Solo las unidades del token (CLUES ${input.restrictedTo.join(', ')})` }] }
      : {}),
    group: groups,
  };
}

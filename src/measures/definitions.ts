/**
 * The built-in measures: what each counts, over which resource type, and the
 * stratifiers a caller may ask for. These are the server's own definitions
 * (read-only, served as Measure resources); the SQL that computes them is in
 * measure-sql.ts. Dimension names are the column names of that SQL.
 */
import type { Measure } from '@medplum/fhirtypes';
import { ecuCanonicalBase } from '../mx/systems.ts';

export type Dimension =
  | 'unidad'
  | 'nivel'
  | 'especialidad'
  | 'clase'
  | 'dia'
  | 'semana'
  | 'mes'
  | 'unidad_referente'
  | 'estado'
  | 'modalidad'
  | 'equipo'
  | 'procedimiento'
  | 'evento'
  | 'grupo'
  | 'relacion';

export interface StratifierDef {
  code: string;
  display: string;
  /** One dimension: a plain stratifier; several: stratum.component per dimension. */
  dimensions: readonly Dimension[];
}

export interface PopulationDef {
  code: 'initial-population' | 'measure-population';
  display: string;
}

export interface MeasureDef {
  id: string;
  title: string;
  description: string;
  /** The resource type counted: the caller must be allowed to search it. */
  basis: string;
  /**
   * Other types whose records the SQL reads (a unit from an Organization, a scanner from a Device…): for a caller who
   * may not read every record of one of them, what comes from it is unknown ("Sin dato") or, for rows that are
   * such records (dispenses), not counted (measure-sql.ts).
   */
  reads: readonly string[];
  /** Dimensions holding a unit's CLUES: a unit-level caller sees rows where one of them is its unit. */
  unitDimensions: readonly Dimension[];
  stratifiers: readonly StratifierDef[];
  /** Referrals: turnaround (days requested → completed) as a second group. */
  turnaround?: boolean;
}

/** Criteria are our SQL (measure-sql.ts), named by dimension; the binding is extensible, the typings list only three codes. */
const computedInSql = 'text/x-ecu-sql' as 'text/fhirpath';

/**
 * First-time or follow-up consultation ("relación temporal" of the SIS/SINBA outpatient form: primera vez,
 * subsecuente), recorded as an Encounter.type coding of this system (fhir-profiles/src/CodeSystem-relacion-temporal.json).
 */
export const relacionTemporalSystem = `${ecuCanonicalBase}/CodeSystem/relacion-temporal`;

export const measureCanonicalBase = `${ecuCanonicalBase}/Measure`;
export const stratifierSystem = `${ecuCanonicalBase}/CodeSystem/estratificador-medida`;

const periodStrata: StratifierDef[] = [
  { code: 'dia', display: 'Día', dimensions: ['dia'] },
  { code: 'semana', display: 'Semana ISO', dimensions: ['semana'] },
  { code: 'mes', display: 'Mes', dimensions: ['mes'] },
];

export const measureDefs: readonly MeasureDef[] = [
  {
    id: 'consultas',
    title: 'Consultas otorgadas',
    description:
      'Consultas terminadas (Encounter status finished, class AMB o VR) cuyo periodo empieza en el periodo del informe, por unidad (CLUES de serviceProvider), nivel de atención, especialidad (serviceType), primera vez o subsecuente (Encounter.type del sistema relacion-temporal, si se registró) y periodo.',
    basis: 'Encounter',
    reads: ['Organization'],
    unitDimensions: ['unidad'],
    stratifiers: [
      { code: 'unidad', display: 'Unidad (CLUES)', dimensions: ['unidad'] },
      { code: 'nivel', display: 'Nivel de atención', dimensions: ['nivel'] },
      { code: 'especialidad', display: 'Especialidad', dimensions: ['especialidad'] },
      { code: 'unidad-especialidad', display: 'Unidad y especialidad', dimensions: ['unidad', 'especialidad'] },
      { code: 'clase', display: 'Modalidad (presencial o telemedicina)', dimensions: ['clase'] },
      { code: 'relacion-temporal', display: 'Primera vez o subsecuente', dimensions: ['relacion'] },
      { code: 'unidad-relacion-temporal', display: 'Unidad y primera vez o subsecuente', dimensions: ['unidad', 'relacion'] },
      { code: 'especialidad-relacion-temporal', display: 'Especialidad y primera vez o subsecuente', dimensions: ['especialidad', 'relacion'] },
      ...periodStrata,
    ],
  },
  {
    id: 'teleconsultas',
    title: 'Consultas por telemedicina',
    description:
      'Consultas virtuales terminadas (Encounter class VR, status finished) por unidad receptora (serviceProvider) y unidad que refirió (la de la referencia en basedOn).',
    basis: 'Encounter',
    reads: ['Organization', 'ServiceRequest'],
    unitDimensions: ['unidad', 'unidad_referente'],
    stratifiers: [
      { code: 'unidad-receptora', display: 'Unidad receptora (CLUES)', dimensions: ['unidad'] },
      { code: 'unidad-referente', display: 'Unidad que refiere (CLUES)', dimensions: ['unidad_referente'] },
      { code: 'receptora-referente', display: 'Unidad receptora y unidad que refiere', dimensions: ['unidad', 'unidad_referente'] },
      { code: 'especialidad', display: 'Especialidad', dimensions: ['especialidad'] },
      { code: 'relacion-temporal', display: 'Primera vez o subsecuente', dimensions: ['relacion'] },
      ...periodStrata,
    ],
  },
  {
    id: 'referencias',
    title: 'Referencias y tiempo de respuesta',
    description:
      'Referencias (Task de la red de referencia) solicitadas en el periodo, por estado, unidad receptora y especialidad; tiempo de respuesta en días desde la solicitud hasta la conclusión (historial de la Task): mediana y percentil 90.',
    basis: 'Task',
    reads: [],
    unitDimensions: ['unidad', 'unidad_referente'],
    turnaround: true,
    stratifiers: [
      { code: 'estado', display: 'Estado de la referencia', dimensions: ['estado'] },
      { code: 'unidad-receptora', display: 'Unidad receptora (CLUES)', dimensions: ['unidad'] },
      { code: 'unidad-referente', display: 'Unidad que refiere (CLUES)', dimensions: ['unidad_referente'] },
      { code: 'especialidad', display: 'Especialidad', dimensions: ['especialidad'] },
      { code: 'unidad-especialidad', display: 'Unidad receptora y especialidad', dimensions: ['unidad', 'especialidad'] },
      ...periodStrata,
    ],
  },
  {
    id: 'estudios-imagen',
    title: 'Estudios de imagen',
    description:
      'Estudios de imagen (ImagingStudy, no cancelados ni erróneos) iniciados en el periodo, por unidad (dueña del equipo), modalidad (series.modality) y equipo (series.performer Device).',
    basis: 'ImagingStudy',
    reads: ['Device', 'Organization'],
    unitDimensions: ['unidad'],
    stratifiers: [
      { code: 'unidad', display: 'Unidad (CLUES)', dimensions: ['unidad'] },
      { code: 'modalidad', display: 'Modalidad', dimensions: ['modalidad'] },
      { code: 'equipo', display: 'Equipo (Device)', dimensions: ['equipo'] },
      { code: 'unidad-modalidad', display: 'Unidad y modalidad', dimensions: ['unidad', 'modalidad'] },
      ...periodStrata,
    ],
  },
  {
    id: 'procedimientos',
    title: 'Procedimientos realizados',
    description:
      'Procedimientos terminados (Procedure status completed) realizados en el periodo, por código (p. ej. trasplantes) y unidad (serviceProvider del Encounter del procedimiento).',
    basis: 'Procedure',
    reads: ['Encounter', 'Organization'],
    unitDimensions: ['unidad'],
    stratifiers: [
      { code: 'procedimiento', display: 'Procedimiento', dimensions: ['procedimiento'] },
      { code: 'unidad', display: 'Unidad (CLUES)', dimensions: ['unidad'] },
      { code: 'unidad-procedimiento', display: 'Unidad y procedimiento', dimensions: ['unidad', 'procedimiento'] },
      ...periodStrata,
    ],
  },
  {
    id: 'recetas',
    title: 'Recetas emitidas, surtidas y vencidas',
    description:
      'Recetas electrónicas firmadas en el periodo (emitida, una por folio), surtidos contados en el libro de surtido (surtida, uno por MedicationDispense) y líneas de receta cuya vigencia terminó en el periodo sin surtirse por completo (vencida), por unidad que emitió (CLUES) y grupo de medicamento controlado (LGS art. 226).',
    basis: 'MedicationRequest',
    reads: ['MedicationDispense'],
    unitDimensions: ['unidad'],
    stratifiers: [
      { code: 'evento', display: 'Evento (emitida, surtida, vencida)', dimensions: ['evento'] },
      { code: 'unidad-evento', display: 'Unidad y evento', dimensions: ['unidad', 'evento'] },
      { code: 'evento-grupo', display: 'Evento y grupo de controlado', dimensions: ['evento', 'grupo'] },
      ...periodStrata,
    ],
  },
];

export function measureUrl(def: MeasureDef): string {
  return `${measureCanonicalBase}/${def.id}`;
}

export function findMeasure(idOrUrl: string): MeasureDef | undefined {
  const plain = idOrUrl.split('|')[0] ?? '';
  return measureDefs.find((d) => d.id === plain || measureUrl(d) === plain);
}

export const serverStarted = new Date().toISOString();

/** The Measure resource of a built-in measure (https://hl7.org/fhir/R4/measure.html). */
export function measureResource(def: MeasureDef): Measure {
  const groups: NonNullable<Measure['group']> = [
    {
      code: { text: def.title },
      population: [{ code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-population', code: 'initial-population', display: 'Initial Population' }] }, description: def.description, criteria: { language: computedInSql, expression: def.id } }],
      stratifier: def.stratifiers.map((s) => ({
        code: { coding: [{ system: stratifierSystem, code: s.code, display: s.display }], text: s.display },
        ...(s.dimensions.length > 1 ? { component: s.dimensions.map((d) => ({ code: { coding: [{ system: stratifierSystem, code: d }] }, criteria: { language: computedInSql, expression: d } })) } : { criteria: { language: computedInSql, expression: s.dimensions[0] ?? '' } }),
      })),
    },
  ];
  if (def.turnaround) {
    groups.push({
      code: { text: 'Tiempo de respuesta (días), referencias concluidas: mediana; percentil 90 en extensión' },
      population: [{ code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-population', code: 'measure-population', display: 'Measure Population' }] }, criteria: { language: computedInSql, expression: 'concluidas' } }],
      stratifier: groups[0]?.stratifier,
    });
  }
  return {
    resourceType: 'Measure',
    id: def.id,
    meta: { versionId: '1', lastUpdated: serverStarted },
    url: measureUrl(def),
    version: '0.1.0',
    name: def.id.replace(/-/g, '_'),
    title: def.title,
    status: 'active',
    experimental: false,
    publisher: 'ECU FHIR',
    description: def.description,
    subjectCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/resource-types', code: def.basis }] },
    scoring: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-scoring', code: def.turnaround ? 'continuous-variable' : 'cohort' }] },
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-type', code: 'process' }] }],
    group: groups,
  };
}

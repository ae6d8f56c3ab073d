/**
 * $evaluate-measure's input, from the query string (GET) or a Parameters
 * body (POST, merged into the query by by-post.ts), checked into one shape. Pure; every refusal names the
 * parameter. https://hl7.org/fhir/R4/measure-operation-evaluate-measure.html
 */
import { badRequest } from '../fhir/errors.ts';
import type { Query } from '../fhir/types.ts';
import { dateRange } from '../search/date-range.ts';
import type { MeasureDef, StratifierDef } from './definitions.ts';

export interface MeasureParameters {
  measure?: string;
  periodStart: string;
  periodEnd: string;
  from: Date;
  to: Date;
  /** `Organization/<id>`. */
  subject?: string;
  /** Stratifier codes asked for (absent: all of the measure's). */
  stratifier?: string[];
}

const known = new Set(['measure', 'periodStart', 'periodEnd', 'reportType', 'subject', 'stratifier', '_format']);

/**
 * Name → values of the query: a POST's Parameters body is already merged into it
 * (src/fhir/operations/by-post.ts), so both forms arrive here alike.
 */
export function collectParameters(query: Query): Map<string, string[]> {
  return new Map(Object.entries(query).map(([name, raw]) => [name, [raw].flat().filter((v): v is string => typeof v === 'string')]));
}

function single(params: Map<string, string[]>, name: string): string | undefined {
  const values = params.get(name);
  if (values && values.length > 1) {
    throw badRequest({ es: `El parámetro ${name} se indica una sola vez`, en: `Parameter ${name} may be given once` }, name);
  }
  return values?.[0];
}

export function parseMeasureParameters(params: Map<string, string[]>): MeasureParameters {
  for (const name of params.keys()) {
    if (!known.has(name)) {
      throw badRequest({ es: `Parámetro desconocido en $evaluate-measure: ${name}`, en: `Unknown $evaluate-measure parameter: ${name}` }, name, 'not-supported');
    }
  }
  const reportType = single(params, 'reportType') ?? 'population';
  if (reportType !== 'population') {
    throw badRequest(
      { es: `reportType=${reportType} no soportado: los informes son agregados (population)`, en: `reportType=${reportType} is not supported: reports are aggregates (population)` },
      'reportType',
      'not-supported',
    );
  }
  const periodStart = single(params, 'periodStart');
  const periodEnd = single(params, 'periodEnd');
  if (!periodStart || !periodEnd) {
    throw badRequest({ es: 'Faltan periodStart y periodEnd (fechas del periodo del informe)', en: 'periodStart and periodEnd (the reporting period) are required' }, periodStart ? 'periodEnd' : 'periodStart', 'required');
  }
  const start = dateRange(periodStart);
  const end = dateRange(periodEnd);
  if (!start) throw badRequest({ es: `periodStart no es una fecha FHIR: ${periodStart}`, en: `periodStart is not a FHIR date: ${periodStart}` }, 'periodStart');
  if (!end) throw badRequest({ es: `periodEnd no es una fecha FHIR: ${periodEnd}`, en: `periodEnd is not a FHIR date: ${periodEnd}` }, 'periodEnd');
  if (end.hi < start.lo) {
    throw badRequest({ es: 'periodEnd es anterior a periodStart', en: 'periodEnd is before periodStart' }, 'periodEnd');
  }
  const subject = single(params, 'subject');
  if (subject !== undefined && !/^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(subject)) {
    throw badRequest({ es: `subject debe ser una unidad: Organization/<id> (recibido "${subject}")`, en: `subject must be a unit: Organization/<id> (got "${subject}")` }, 'subject', 'not-supported');
  }
  const stratifier = params.get('stratifier')?.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  return { measure: single(params, 'measure'), periodStart, periodEnd, from: start.lo, to: new Date(end.hi.getTime() + 1), subject, stratifier };
}

/** The stratifiers asked for, each known to the measure. */
export function selectStratifiers(def: MeasureDef, codes: readonly string[] | undefined): StratifierDef[] {
  if (codes === undefined) return [...def.stratifiers];
  return codes.map((code) => {
    const s = def.stratifiers.find((x) => x.code === code);
    if (!s) {
      throw badRequest(
        { es: `La medida ${def.id} no tiene el estratificador "${code}"; tiene: ${def.stratifiers.map((x) => x.code).join(', ')}`, en: `Measure ${def.id} has no stratifier "${code}"; it has: ${def.stratifiers.map((x) => x.code).join(', ')}` },
        'stratifier',
        'not-supported',
      );
    }
    return s;
  });
}

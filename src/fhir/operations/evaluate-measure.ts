/**
 * The built-in measures (src/measures) as read-only Measure resources, and
 * $evaluate-measure on them: Measure/{id}/$evaluate-measure and
 * Measure/$evaluate-measure?measure=<url>, GET or POST with Parameters,
 * answering a summary MeasureReport, or CSV (one row per stratum) when the
 * client asks for text/csv.
 */
import type { Bundle, OperationDefinition } from '@medplum/fhirtypes';
import { findMeasure, measureDefs, measureResource, measureUrl, type MeasureDef } from '../../measures/definitions.ts';
import { measureReportCsv } from '../../measures/measure-csv.ts';
import { collectParameters, parseMeasureParameters } from '../../measures/measure-parameters.ts';
import { evaluateMeasure } from '../../measures/evaluate.ts';
import { badRequest, methodNotAllowed, notFound } from '../errors.ts';
import { read } from '../read.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';

export const evaluateMeasureOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Measure-evaluate-measure',
  url: 'https://ecu-fhir.org/fhir/OperationDefinition/Measure-evaluate-measure',
  name: 'evaluateMeasure',
  title: 'Evaluar una medida integrada / Evaluate a built-in measure',
  status: 'active',
  kind: 'operation',
  code: 'evaluate-measure',
  base: 'http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure',
  affectsState: false,
  resource: ['Measure'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'periodStart', use: 'in', min: 1, max: '1', type: 'date' },
    { name: 'periodEnd', use: 'in', min: 1, max: '1', type: 'date' },
    { name: 'measure', use: 'in', min: 0, max: '1', type: 'string' },
    { name: 'reportType', use: 'in', min: 0, max: '1', type: 'code' },
    { name: 'subject', use: 'in', min: 0, max: '1', type: 'string' },
    { name: 'stratifier', use: 'in', min: 0, max: '*', type: 'string' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'MeasureReport' },
  ],
};

export const measureCsvType = 'text/csv';

function builtIn(id: string | undefined): MeasureDef {
  const def = id ? findMeasure(id) : undefined;
  if (!def || def.id !== id) {
    throw notFound({ es: `Measure/${id ?? ''} no existe: las medidas son las integradas (${measureDefs.map((d) => d.id).join(', ')})`, en: `Measure/${id ?? ''} does not exist: measures are the built-in ones (${measureDefs.map((d) => d.id).join(', ')})` });
  }
  return def;
}

/** A built-in Measure is served from its definition; any other id is a Measure a client stored (e.g. the HL7 examples). */
export async function readMeasure(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  if (!isBuiltIn(req.id)) return read(req, ctx);
  return { status: 200, body: measureResource(builtIn(req.id)) };
}

function isBuiltIn(id: string | undefined): boolean {
  return id !== undefined && findMeasure(id)?.id === id;
}

export async function searchMeasures(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const url = typeof req.query.url === 'string' ? req.query.url : undefined;
  const id = typeof req.query._id === 'string' ? req.query._id : undefined;
  const defs = measureDefs.filter((d) => (url === undefined || measureUrl(d) === url.split('|')[0]) && (id === undefined || d.id === id));
  const body: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: defs.length,
    entry: defs.map((d) => ({ fullUrl: `${ctx.baseUrl}/Measure/${d.id}`, resource: measureResource(d), search: { mode: 'match' as const } })),
  };
  return { status: 200, body };
}

/**
 * Built-in measures are the server's definitions: no client writes them (by id, or a create naming their canonical
 * URL). Other Measures are ordinary resources, stored as sent.
 */
export function guardBuiltInMeasure(handler: (req: FhirRequest, ctx: FhirContext) => Promise<FhirResult>) {
  return async (req: FhirRequest, ctx: FhirContext): Promise<FhirResult> => {
    const url = (req.body as { url?: unknown } | undefined)?.url;
    const namesBuiltIn = typeof url === 'string' && measureDefs.some((d) => measureUrl(d) === url.split('|')[0]);
    if (isBuiltIn(req.id) || (req.method === 'POST' && namesBuiltIn)) {
      throw methodNotAllowed(req.method, req.id ? `Measure/${req.id}` : 'Measure', ['GET']);
    }
    return handler(req, ctx);
  };
}

function wantsCsv(req: FhirRequest): boolean {
  const format = typeof req.query._format === 'string' ? req.query._format : undefined;
  if (format !== undefined) return format.split(';')[0]?.trim().toLowerCase() === measureCsvType || format === 'csv';
  return (req.headers.accept ?? '').split(',').some((part) => {
    const [type, ...params] = part.split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return (type ?? '').trim().toLowerCase() === measureCsvType && (q === undefined || Number(q.slice(2)) > 0);
  });
}

export async function evaluateMeasureOperation(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const params = parseMeasureParameters(collectParameters(req.query));
  let def: MeasureDef;
  if (req.id !== undefined) {
    def = builtIn(req.id);
    if (params.measure !== undefined && findMeasure(params.measure) !== def) {
      throw badRequest({ es: `measure=${params.measure} no es Measure/${req.id}`, en: `measure=${params.measure} is not Measure/${req.id}` }, 'measure');
    }
  } else {
    if (params.measure === undefined) {
      throw badRequest({ es: 'Falta measure (URL canónica de la medida) o use Measure/{id}/$evaluate-measure', en: 'measure (the canonical URL) is required, or use Measure/{id}/$evaluate-measure' }, 'measure', 'required');
    }
    const found = findMeasure(params.measure);
    if (!found) {
      throw notFound({ es: `No hay una medida integrada ${params.measure}`, en: `No built-in measure ${params.measure}` }, 'measure');
    }
    def = found;
  }
  if (ctx.audit) {
    ctx.audit.resourceType = 'Measure';
    ctx.audit.resourceId = def.id;
  }
  const report = await evaluateMeasure(ctx.db, ctx.actor, def, params, ctx.now());
  if (wantsCsv(req)) {
    return { status: 200, body: measureReportCsv(report), contentType: `${measureCsvType}; charset=utf-8`, headers: { 'content-disposition': `attachment; filename="${def.id}-${params.periodStart}-${params.periodEnd}.csv"` } };
  }
  return { status: 200, body: report };
}

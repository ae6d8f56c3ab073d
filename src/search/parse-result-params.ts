/**
 * Result parameters (https://hl7.org/fhir/R4/search.html#return): _sort,
 * _total, _summary, _elements, _include, _revinclude, and the paging cursor.
 */
import { badRequest } from '../fhir/errors.ts';
import { isResourceType } from '../fhir/definitions.ts';
import { maxIncludes, maxSortKeys } from '../fhir/input-text.ts';
import { single } from '../fhir/params.ts';
import type { Query } from '../fhir/types.ts';
import { resolveParam, searchParam } from './search-parameters.ts';
import type { IncludeSpec, SearchRequest, SortKey } from './search-request.ts';

const totals = ['none', 'estimate', 'accurate'] as const;
const summaries = ['true', 'false', 'count', 'data', 'text'] as const;

export function parseResultParams(req: SearchRequest, query: Query): void {
  const sort = list(query, '_sort').flatMap((s) => s.split(','));
  if (sort.length > maxSortKeys) throw tooCostly('_sort', { es: `a lo más ${maxSortKeys} claves`, en: `at most ${maxSortKeys} keys` });
  const includes = includeParams.reduce((n, p) => n + list(query, p).length, 0);
  if (includes > maxIncludes) throw tooCostly('_include', { es: `a lo más ${maxIncludes} _include y _revinclude en total`, en: `at most ${maxIncludes} _include and _revinclude in all` });
  for (const raw of sort) {
    const key = parseSortKey(req, raw.trim());
    if (key) req.sort.push(key);
  }
  const total = single(query, '_total');
  if (total !== undefined) {
    if (!(totals as readonly string[]).includes(total)) throw badRequest({ es: `_total admite none, estimate o accurate, no "${total}"`, en: `_total takes none, estimate or accurate, not "${total}"` }, '_total');
    req.total = total as SearchRequest['total'];
  }
  const summary = single(query, '_summary');
  if (summary !== undefined) {
    if (!(summaries as readonly string[]).includes(summary)) throw badRequest({ es: `_summary admite true, false, count, data o text, no "${summary}"`, en: `_summary takes true, false, count, data or text, not "${summary}"` }, '_summary');
    req.summary = summary as SearchRequest['summary'];
  }
  const elements = list(query, '_elements').flatMap((e) => e.split(',')).map((e) => e.trim()).filter((e) => e !== '');
  if (elements.length > 0) req.elements = elements;
  for (const raw of list(query, '_include')) pushInclude(req, req.include, '_include', raw);
  for (const raw of list(query, '_include:iterate')) pushInclude(req, req.include, '_include:iterate', raw, true);
  for (const raw of list(query, '_revinclude')) pushInclude(req, req.revinclude, '_revinclude', raw);
  for (const raw of list(query, '_revinclude:iterate')) pushInclude(req, req.revinclude, '_revinclude:iterate', raw, true);
  req.cursor = single(query, '_cursor');
}

const includeParams = ['_include', '_include:iterate', '_revinclude', '_revinclude:iterate'];

function tooCostly(name: string, limit: { es: string; en: string }) {
  return badRequest({ es: `Demasiados valores en ${name}: ${limit.es}`, en: `Too many values in ${name}: ${limit.en}` }, name, 'too-costly');
}

function list(query: Query, name: string): string[] {
  const v = query[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function parseSortKey(req: SearchRequest, raw: string): SortKey | undefined {
  const descending = raw.startsWith('-');
  const name = descending ? raw.slice(1) : raw;
  if (name === '_id') return { name, kind: 'id', descending };
  if (name === '_lastUpdated') return { name, kind: 'lastUpdated', descending };
  const param = resolveParam(req.types, name);
  if (!param || param.type === 'composite') {
    req.ignored.push({ name: '_sort', reason: { es: `No se puede ordenar por ${name}`, en: `Cannot sort by ${name}` } });
    return undefined;
  }
  return { name, kind: param.type, param, descending };
}

/** `Source:param[:Target]`, e.g. MedicationRequest:medication or Observation:subject:Patient. */
function pushInclude(req: SearchRequest, into: IncludeSpec[], name: string, raw: string, iterate = false): void {
  const [sourceType = '', code = '', targetType] = raw.split(':');
  const param = isResourceType(sourceType) ? searchParam(sourceType, code) : undefined;
  if (!param || param.type !== 'reference' || (targetType !== undefined && !isResourceType(targetType))) {
    req.ignored.push({ name, reason: { es: `${name}=${raw} no es Tipo:referencia[:Tipo] válido`, en: `${name}=${raw} is not a valid Type:reference[:Type]` } });
    return;
  }
  into.push({ sourceType, param, code, targetType, iterate });
}

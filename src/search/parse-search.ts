/**
 * URL (or form) parameters → SearchRequest (https://hl7.org/fhir/R4/search.html).
 * Repeated parameters are AND, commas inside one are OR. Unknown parameters
 * are collected in `ignored` (the interaction answers 400 for them under
 * Prefer: handling=strict); malformed values always throw a 400 naming the parameter.
 */
import { badRequest } from '../fhir/errors.ts';
import { isResourceType } from '../fhir/definitions.ts';
import { maxParameters, maxValuesPerParameter } from '../fhir/input-text.ts';
import { parseCount } from '../fhir/params.ts';
import type { Query } from '../fhir/types.ts';
import { parseDate, parseValue, splitEscaped, unescape } from './parse-values.ts';
import { resolveParam, searchParam, type SearchParam } from './search-parameters.ts';
import type { Filter, IncludeSpec, ScalarValue, SearchRequest, SortKey } from './search-request.ts';
import { parseResultParams } from './parse-result-params.ts';

/** Parameters about the result or the transport, not filters. */
const control = new Set(['_count', '_sort', '_total', '_summary', '_elements', '_include', '_revinclude', '_include:iterate', '_revinclude:iterate', '_cursor', '_format', '_pretty', '_type', '_contained', '_containedType']);
const maxChain = 2;

const modifiersByType: Record<string, readonly string[]> = {
  string: ['exact', 'contains'],
  token: ['not', 'text', 'of-type'],
  reference: ['identifier'],
  uri: ['below', 'above'],
  date: [],
  number: [],
  quantity: [],
  composite: [],
};

export function parseSearch(types: string[], query: Query): SearchRequest {
  const req: SearchRequest = { types, filters: [], sort: [], count: parseCount(query), include: [], revinclude: [], ignored: [] };
  let parameters = 0;
  for (const [name, raw] of Object.entries(query)) {
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    // Counted here too: a POST _search form or a bundle entry URL reaches the parser without the HTTP edge's count.
    parameters += values.length;
    if (parameters > maxParameters) throw badRequest({ es: `Demasiados parámetros de búsqueda: el máximo es ${maxParameters}`, en: `Too many search parameters: at most ${maxParameters}` }, name, 'too-costly');
    if (control.has(name)) continue;
    for (const value of values) {
      if (countUnescaped(value, ',') >= maxValuesPerParameter) throw badRequest({ es: `Demasiados valores en ${name}: el máximo es ${maxValuesPerParameter} separados por comas`, en: `Too many values in ${name}: at most ${maxValuesPerParameter} separated by commas` }, name, 'too-costly');
      const filter = parseFilter(req, types, name, value, 0);
      if (filter) req.filters.push(filter);
    }
  }
  parseResultParams(req, query);
  return req;
}

function parseFilter(req: SearchRequest, types: string[], name: string, value: string, depth: number, root = name): Filter | undefined {
  if (name.startsWith('_has:')) return parseHas(req, types, name, value, depth, root);
  const dot = name.indexOf('.');
  const head = dot >= 0 ? name.slice(0, dot) : name;
  const [code, modifier] = head.split(':', 2) as [string, string | undefined];
  if (code === '_id') return idFilter(root, modifier, value);
  if (code === '_lastUpdated') {
    if (modifier !== undefined) throw unsupportedModifier(root, modifier);
    return { kind: 'lastUpdated', name, values: splitEscaped(value, ',').map((v) => parseDate(v, root)) };
  }
  const param = resolveParam(types, code);
  if (!param) {
    const why = code.startsWith('_') && ['_text', '_content', '_list', '_query', '_filter'].includes(code) ? 'no soportado / not supported' : undefined;
    req.ignored.push({
      name,
      reason: why ? { es: `El parámetro ${name} no está soportado`, en: `Parameter ${name} is not supported` } : { es: `Parámetro de búsqueda desconocido para ${types.join(',') || 'el sistema'}: ${name}`, en: `Unknown search parameter for ${types.join(',') || 'the system'}: ${name}` },
    });
    return undefined;
  }
  if (dot >= 0) return parseChain(req, root, param, modifier, name.slice(dot + 1), value, depth);
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw badRequest({ es: `${root} admite true o false, no "${value}"`, en: `${root} takes true or false, not "${value}"` }, root);
    return { kind: 'missing', name, param, missing: value === 'true' };
  }
  if (param.type === 'composite') {
    if (modifier !== undefined) throw unsupportedModifier(root, modifier);
    const values = splitEscaped(value, ',').map((v) => {
      const parts = splitEscaped(v, '$');
      if (parts.length !== param.components.length) throw badRequest({ es: `${root} espera ${param.components.length} componentes separados por $`, en: `${root} expects ${param.components.length} components separated by $` }, root);
      return parts.map((p, i) => parseValue(param.components[i]!.type, p, root));
    });
    return { kind: 'composite', name, param, values };
  }
  if (modifier !== undefined && !modifiersByType[param.type]!.includes(modifier)) {
    // A resource type as modifier narrows a reference (subject:Patient=1).
    if (!(param.type === 'reference' && isResourceType(modifier))) throw unsupportedModifier(root, modifier);
  }
  let values: ScalarValue[] = splitEscaped(value, ',').map((v) => (modifier === 'text' || (param.type === 'reference' && modifier === 'identifier') || modifier === 'of-type' ? parseValue(modifier === 'text' ? 'string' : 'token', v, root) : parseValue(param.type as Exclude<typeof param.type, 'composite'>, v, root)));
  if (param.type === 'reference' && modifier !== undefined && isResourceType(modifier)) {
    values = values.map((v) => ('id' in v || 'url' in v ? { ...v, type: modifier } : v));
  }
  return { kind: 'param', name, param, modifier, values };
}

function idFilter(name: string, modifier: string | undefined, value: string): Filter {
  if (modifier !== undefined && modifier !== 'not') throw unsupportedModifier(name, modifier);
  return { kind: 'id', name, ids: splitEscaped(value, ',').map(unescape), not: modifier === 'not' };
}

function parseChain(req: SearchRequest, name: string, param: SearchParam, modifier: string | undefined, rest: string, value: string, depth: number): Filter {
  if (param.type !== 'reference') throw badRequest({ es: `Solo se encadenan referencias: ${name}`, en: `Only references can be chained: ${name}` }, name);
  if (depth + 1 > maxChain) throw badRequest({ es: `Cadena demasiado larga (máximo ${maxChain} saltos): ${name}`, en: `Chain too long (at most ${maxChain} hops): ${name}` }, name);
  const candidates = modifier !== undefined ? [modifier] : param.targets;
  if (modifier !== undefined && !isResourceType(modifier)) throw unsupportedModifier(name, modifier);
  const targets: { type: string; filter: Filter }[] = [];
  const restCode = rest.split(/[.:]/)[0] ?? '';
  for (const type of candidates) {
    if (restCode !== '_has' && restCode !== '_id' && restCode !== '_lastUpdated' && !searchParam(type, restCode)) continue;
    const inner: SearchRequest = { ...req, ignored: [] };
    const filter = parseFilter(inner, [type], rest, value, depth + 1, name);
    if (filter) targets.push({ type, filter });
  }
  if (targets.length === 0) throw badRequest({ es: `Ningún tipo destino de ${name.split('.')[0]} tiene el parámetro ${restCode}`, en: `No target type of ${name.split('.')[0]} has parameter ${restCode}` }, name);
  return { kind: 'chain', name, param, targets };
}

function parseHas(req: SearchRequest, types: string[], name: string, value: string, depth: number, root = name): Filter {
  const parts = name.split(':');
  const [, sourceType = '', refCode = ''] = parts;
  const rest = parts.slice(3).join(':');
  const where = { es: `_has mal formado: ${name} (se espera _has:Tipo:referencia:parámetro)`, en: `Malformed _has: ${name} (expected _has:Type:reference:parameter)` };
  if (!isResourceType(sourceType) || rest === '') throw badRequest(where, root);
  const param = searchParam(sourceType, refCode);
  if (!param || param.type !== 'reference') throw badRequest({ es: `${sourceType} no tiene la referencia ${refCode}: ${name}`, en: `${sourceType} has no reference parameter ${refCode}: ${name}` }, root);
  if (depth + 1 > maxChain) throw badRequest({ es: `_has anidado demasiado profundo: ${name}`, en: `_has nested too deep: ${name}` }, root);
  const inner: SearchRequest = { ...req, ignored: [] };
  const filter = parseFilter(inner, [sourceType], rest, value, depth + 1, root);
  if (!filter) throw badRequest({ es: `Parámetro desconocido en ${name}`, en: `Unknown parameter in ${name}` }, root);
  void types;
  return { kind: 'has', name, sourceType, param, filter };
}

function countUnescaped(value: string, sep: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === sep) n++;
  }
  return n;
}

export function unsupportedModifier(name: string, modifier: string) {
  return badRequest({ es: `Modificador no soportado :${modifier} en ${name}`, en: `Unsupported modifier :${modifier} on ${name}` }, name, 'not-supported');
}

export type { IncludeSpec, SortKey };

/**
 * Index values of a resource: each search parameter's FHIRPath expression is
 * evaluated (Medplum's FHIRPath engine) and the typed results are turned into
 * rows of the index tables, following the R4 rules for what each data type
 * means for each parameter type (https://hl7.org/fhir/R4/search.html#ptypes).
 */
import { evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { numberText } from '../json/lossless.ts';
import { parseLocalReference } from '../fhir/normalize-reference.ts';
import { dateRange } from './date-range.ts';
import { normalizeText } from './normalize.ts';
import { compilePath, type CompiledPath } from './compiled-paths.ts';
import { searchParamsOf, type CompositeComponent, type ParamType, type SearchParam } from './search-parameters.ts';

interface Key {
  param: string;
  grp: number;
}
export interface StringRow extends Key { value: string; exact: string }
export interface TokenRow extends Key { system: string | null; code: string | null; text: string | null }
export interface DateRow extends Key { lo: Date; hi: Date }
export interface NumberRow extends Key { value: string }
export interface QuantityRow extends Key { value: string; system: string | null; code: string | null; unit: string | null }
export interface ReferenceRow extends Key { target_type: string | null; target_id: string | null; url: string | null }
export interface UriRow extends Key { value: string }

export interface IndexRows {
  sp_string: StringRow[];
  sp_token: TokenRow[];
  sp_date: DateRow[];
  sp_number: NumberRow[];
  sp_quantity: QuantityRow[];
  sp_reference: ReferenceRow[];
  sp_uri: UriRow[];
}

export function emptyRows(): IndexRows {
  return { sp_string: [], sp_token: [], sp_date: [], sp_number: [], sp_quantity: [], sp_reference: [], sp_uri: [] };
}

/**
 * All index rows of one resource version. `skipAbsent: false` evaluates every
 * parameter, even those whose elements the resource lacks; `compiled: false`
 * evaluates every expression with the FHIRPath engine (tests compare both).
 */
export function extractIndexValues(resource: Resource, skipAbsent = true, compiled = true): IndexRows {
  const rows = emptyRows();
  const root = [toTypedValue(resource)];
  // R4 composite components read the resource itself (MolecularSequence's `%resource.referenceSeq.chromosome`).
  const variables = { '%resource': root[0]! };
  const contained = containedTypes(resource);
  const has = presentElements(resource);
  for (const param of searchParamsOf(resource.resourceType).values()) {
    if (onResourceRow.has(param.code)) continue;
    // Most of a type's ~40 parameters read elements this resource does not have: evaluating them anyway was most of the extraction time.
    if (skipAbsent && param.roots && !param.roots.some(has)) continue;
    const values = (compiled ? compiledPathOf(param, resource.resourceType)?.(root[0]!) : undefined) ?? evalFhirPathTyped(param.expression, root, variables);
    if (param.type !== 'composite') {
      for (const v of values) addValue(rows, param.type, param.code, 0, v, contained);
      continue;
    }
    values.forEach((base, grp) => {
      // A composite has a value only where every component has one (code-value-quantity needs a valueQuantity):
      // rows of an incomplete repetition could never match, so they are not written.
      const parts = param.components.map((component) => (compiled ? compiledComponentOf(component, resource.resourceType)?.(base) : undefined) ?? evalFhirPathTyped(component.expression, [base], variables));
      if (parts.some((part) => part.length === 0)) return;
      parts.forEach((part, n) => {
        for (const v of part) addValue(rows, param.components[n]!.type, `${param.code}$${n}`, grp, v, contained);
      });
    });
  }
  return rows;
}

type JsonObject = Record<string, unknown>;

const compiledPaths = new WeakMap<SearchParam | CompositeComponent, CompiledPath | null>();

/** The parameter's expression as a plain property walk (compiled-paths.ts), if it has that shape. */
function compiledPathOf(param: SearchParam, resourceType: string): CompiledPath | null {
  let c = compiledPaths.get(param);
  if (c === undefined) {
    c = compilePath(param.expression, resourceType) ?? null;
    compiledPaths.set(param, c);
  }
  return c;
}

function compiledComponentOf(component: CompositeComponent, resourceType: string): CompiledPath | null {
  let c = compiledPaths.get(component);
  if (c === undefined) {
    c = compilePath(component.expression, resourceType, true) ?? null;
    compiledPaths.set(component, c);
  }
  return c;
}

/** Whether the resource has a top-level element, a choice element (`value` for `valueQuantity`) included. */
function presentElements(resource: Resource): (name: string) => boolean {
  const keys = Object.keys(resource);
  const direct = new Set(keys);
  return (name) => direct.has(name) || keys.some((k) => k.length > name.length && k.startsWith(name) && /[A-Z]/.test(k.charAt(name.length)));
}

/** Searched on the `resource` row itself (id, last_updated), so never copied into index tables. */
const onResourceRow = new Set(['_id', '_lastUpdated']);

function addValue(rows: IndexRows, type: Exclude<ParamType, 'composite'>, param: string, grp: number, tv: TypedValue, contained: Map<string, string>): void {
  const v: unknown = tv.value;
  if (v === undefined || v === null) return;
  switch (type) {
    case 'string':
      return addStrings(rows, param, grp, tv.type, v);
    case 'token':
      return addTokens(rows, param, grp, tv.type, v);
    case 'date':
      return addDates(rows, param, grp, tv.type, v);
    case 'number':
      if (typeof v === 'number') rows.sp_number.push({ param, grp, value: String(v) });
      else if (isObject(v) && typeof v.value === 'number') rows.sp_number.push({ param, grp, value: numberText(v, 'value') ?? String(v.value) });
      return;
    case 'quantity':
      return addQuantity(rows, param, grp, v);
    case 'reference':
      return addReference(rows, param, grp, v, contained);
    case 'uri':
      if (typeof v === 'string') rows.sp_uri.push({ param, grp, value: v });
      return;
  }
}

function addStrings(rows: IndexRows, param: string, grp: number, type: string, v: unknown): void {
  const push = (s: unknown) => {
    if (typeof s === 'string' && s.length > 0) rows.sp_string.push({ param, grp, value: normalizeText(s), exact: s });
  };
  if (typeof v === 'string') return push(v);
  if (!isObject(v)) return;
  const parts = type === 'HumanName' ? ['family', 'given', 'prefix', 'suffix', 'text'] : type === 'Address' ? ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'] : Object.keys(v);
  for (const key of parts) {
    const part = v[key];
    for (const s of Array.isArray(part) ? part : [part]) push(s);
  }
}

function addTokens(rows: IndexRows, param: string, grp: number, type: string, v: unknown): void {
  const push = (system: unknown, code: unknown, text: unknown) => {
    const row: TokenRow = { param, grp, system: str(system), code: str(code), text: typeof text === 'string' ? normalizeText(text) : null };
    if (row.code !== null || row.text !== null || row.system !== null) rows.sp_token.push(row);
  };
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return push(null, String(v), null);
  if (!isObject(v)) return;
  switch (type) {
    case 'CodeableConcept':
      for (const c of arrayOf(v.coding)) push(c.system, c.code, c.display);
      if (typeof v.text === 'string') push(null, null, v.text);
      return;
    case 'Identifier':
      push(v.system, v.value, isObject(v.type) ? v.type.text : null);
      // :of-type keeps "<type code>|<value>" under the type's system.
      for (const c of arrayOf(isObject(v.type) ? v.type.coding : undefined)) {
        if (typeof c.code === 'string' && typeof v.value === 'string') rows.sp_token.push({ param: `${param}:of-type`, grp, system: str(c.system), code: `${c.code}|${v.value}`, text: null });
      }
      return;
    case 'ContactPoint':
      return push(v.system, v.value, null);
    default:
      return push(v.system, v.code ?? v.value, v.display);
  }
}

function addDates(rows: IndexRows, param: string, grp: number, type: string, v: unknown): void {
  const push = (lo: Date | undefined, hi: Date | undefined) => {
    if (lo || hi) rows.sp_date.push({ param, grp, lo: lo ?? new Date(-8.64e15), hi: hi ?? new Date(8.64e15) });
  };
  if (typeof v === 'string') {
    const r = dateRange(v);
    return r ? push(r.lo, r.hi) : undefined;
  }
  if (!isObject(v)) return;
  if (type === 'Period') {
    return push(typeof v.start === 'string' ? dateRange(v.start)?.lo : undefined, typeof v.end === 'string' ? dateRange(v.end)?.hi : undefined);
  }
  if (type === 'Timing') {
    const ranges = (Array.isArray(v.event) ? v.event : []).flatMap((e) => (typeof e === 'string' ? [dateRange(e)] : [])).filter((r) => r !== undefined);
    const bounds = isObject(v.repeat) && isObject(v.repeat.boundsPeriod) ? v.repeat.boundsPeriod : undefined;
    if (bounds) ranges.push({ lo: dateRange(String(bounds.start ?? ''))?.lo ?? new Date(-8.64e15), hi: dateRange(String(bounds.end ?? ''))?.hi ?? new Date(8.64e15) });
    if (ranges.length === 0) return;
    return push(new Date(Math.min(...ranges.map((r) => r.lo.getTime()))), new Date(Math.max(...ranges.map((r) => r.hi.getTime()))));
  }
}

function addQuantity(rows: IndexRows, param: string, grp: number, v: unknown): void {
  if (typeof v === 'number') return void rows.sp_quantity.push({ param, grp, value: String(v), system: null, code: null, unit: null });
  if (!isObject(v) || typeof v.value !== 'number') return;
  // The value as written (numberText): 123456789012345678901234567890 must match itself, not 1.2345678901234568e+29.
  rows.sp_quantity.push({ param, grp, value: numberText(v, 'value') ?? String(v.value), system: str(v.system), code: str(v.code ?? v.currency), unit: str(v.unit) });
}

const absolute = /^(?:https?|urn):.*?\/?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

function addReference(rows: IndexRows, param: string, grp: number, v: unknown, contained: Map<string, string>): void {
  // :identifier on references searches Reference.identifier.
  if (isObject(v) && isObject(v.identifier)) rows.sp_token.push({ param: `${param}:identifier`, grp, system: str(v.identifier.system), code: str(v.identifier.value), text: null });
  const ref = typeof v === 'string' ? v : isObject(v) && typeof v.reference === 'string' ? v.reference : undefined;
  if (ref === undefined) return;
  if (ref.startsWith('#')) {
    return void rows.sp_reference.push({ param, grp, target_type: contained.get(ref.slice(1)) ?? null, target_id: null, url: ref });
  }
  // The same rule the write applied (src/fhir/normalize-reference.ts): references to this server are stored as Type/id.
  const local = parseLocalReference(ref);
  if (local) return void rows.sp_reference.push({ param, grp, target_type: local.type, target_id: local.id, url: null });
  const abs = absolute.exec(ref);
  // Absolute (or canonical) references keep their URL; the Type/id tail helps :[type] and chaining on copies of our own URLs.
  rows.sp_reference.push({ param, grp, target_type: abs?.[1] ?? null, target_id: abs?.[2] ?? null, url: ref });
}

function containedTypes(resource: Resource): Map<string, string> {
  const out = new Map<string, string>();
  const contained = (resource as { contained?: unknown }).contained;
  for (const c of arrayOf(contained)) {
    if (typeof c.id === 'string' && typeof c.resourceType === 'string') out.set(c.id, c.resourceType);
  }
  return out;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayOf(v: unknown): JsonObject[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}


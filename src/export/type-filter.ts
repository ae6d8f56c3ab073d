/**
 * `_typeFilter` of a bulk export (https://hl7.org/fhir/uv/bulkdata/export.html#_typefilter-experimental-query-parameter):
 * FHIR search queries, `Type?params`, comma-separated and repeatable. The
 * queries of one type are OR'ed; a type without any is exported whole. Each
 * query is the server's own search (src/search), compiled with the token's
 * readable set inside it, so a filter can only narrow what the export holds,
 * never reach rows (or, through chains and _has, resources) the token may not read.
 */
import { sql, type SqlBool } from 'kysely';
import { badRequest, FhirError, isFhirError, type Message } from '../fhir/errors.ts';
import { isResourceType } from '../fhir/definitions.ts';
import { queryFromString } from '../fhir/params.ts';
import type { Query } from '../fhir/types.ts';
import { whereClause } from '../search/compile-search.ts';
import { or, type Cond } from '../search/compile-values.ts';
import { parseSearch } from '../search/parse-search.ts';
import type { RowAccess } from '../search/row-access.ts';
import type { SearchRequest } from '../search/search-request.ts';

/** At most this many queries in one export: each is a condition on every row the export reads. */
export const maxTypeFilters = 20;

/** Search result parameters: the IG says they SHALL NOT be used in a _typeFilter. */
const resultParams = ['_count', '_sort', '_total', '_summary', '_elements', '_include', '_revinclude', '_include:iterate', '_revinclude:iterate', '_cursor', '_format', '_pretty', '_type', '_contained', '_containedType'];

export interface TypeFilterQuery {
  type: string;
  /** The query string after `?`, as sent (parsed again when the job runs). */
  search: string;
}

export interface ParsedTypeFilter extends TypeFilterQuery {
  request: SearchRequest;
}

/**
 * One query per element, split at the commas that start a new `Type?`: a
 * comma inside a query's values (`status=active,completed`) stays with it.
 */
export function splitTypeFilters(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(/,(?=[A-Z][A-Za-z]*\?)/)).map((v) => v.trim()).filter((v) => v !== '');
}

function invalid(message: Message): never {
  throw badRequest(message, '_typeFilter');
}

/** Parses every query (400 naming `_typeFilter` for a malformed one); unknown parameters are left in `request.ignored` for the caller. */
export function parseTypeFilters(values: readonly string[]): ParsedTypeFilter[] {
  const queries = splitTypeFilters(values);
  if (queries.length > maxTypeFilters) {
    throw badRequest({ es: `Demasiadas consultas en _typeFilter: el máximo es ${maxTypeFilters}`, en: `Too many _typeFilter queries: at most ${maxTypeFilters}` }, '_typeFilter', 'too-costly');
  }
  return queries.map((text) => {
    const mark = text.indexOf('?');
    const type = mark < 0 ? text : text.slice(0, mark);
    if (mark < 0 || !isResourceType(type)) {
      invalid({ es: `_typeFilter: "${text}" no es una consulta Tipo?parámetros de un tipo de recurso FHIR`, en: `_typeFilter: "${text}" is not a Type?parameters query on a FHIR resource type` });
    }
    const search = text.slice(mark + 1);
    const request = parseQuery(type, search);
    return { type, search, request };
  });
}

/** The query as a search of `type`; its 400s name `_typeFilter` (the kick-off's parameter) and the query. */
function parseQuery(type: string, search: string): SearchRequest {
  try {
    const query: Query = queryFromString(search, '_typeFilter');
    const used = resultParams.filter((p) => query[p] !== undefined);
    if (used.length > 0) {
      return invalid({ es: `no admite parámetros de resultado (${used.join(', ')}): solo criterios de búsqueda`, en: `takes no result parameters (${used.join(', ')}): search criteria only` });
    }
    return parseSearch([type], query);
  } catch (err) {
    if (!isFhirError(err)) throw err;
    throw new FhirError(err.status, err.outcome.issue.map((i) => ({ ...i, expression: ['_typeFilter'], details: { text: `_typeFilter ${type}?${search}: ${i.details?.text ?? ''}` } })));
  }
}

export interface TypeFilterPlan {
  queries: TypeFilterQuery[];
  baseUrl?: string;
  /** Kick-off time: relative date criteria mean the same when the job runs later. */
  now: string;
}

/**
 * The condition the export's rows (alias `r`) must meet: a type with queries
 * matches one of them (each with the readable set inside), any other type passes.
 */
export function typeFilterCondition(plan: TypeFilterPlan, access: RowAccess | undefined): Cond {
  const types = [...new Set(plan.queries.map((q) => q.type))];
  const options = { baseUrl: plan.baseUrl, now: new Date(plan.now), access };
  const matches = plan.queries.map((q) => whereClause(parseSearch([q.type], queryFromString(q.search, '_typeFilter')), options));
  return or([sql<SqlBool>`r.resource_type <> ALL(${types}::text[])`, ...matches]);
}

/**
 * search at type and system level, by GET or POST _search with a form body:
 * https://hl7.org/fhir/R4/http.html#search and https://hl7.org/fhir/R4/search.html
 * Unknown parameters are ignored and reported in an OperationOutcome entry
 * (Prefer: handling=lenient, the default) or refused with 400 (handling=strict).
 */
import type { BundleLink } from '@medplum/fhirtypes';
import { isResourceType } from './definitions.ts';
import { badRequest, FhirError, issue, outcome } from './errors.ts';
import { loadIncludes } from './include.ts';
import { parsePrefer } from './prefer.ts';
import { searchBundle } from './search-bundle.ts';
import type { FhirContext, FhirRequest, FhirResult, Query } from './types.ts';
import { parseSearch } from '../search/parse-search.ts';
import { countMatches, estimateMatches, runPage, type Page, type Paging } from '../search/run-search.ts';
import { searchDb } from '../search/index-tables.ts';
import type { SearchRequest } from '../search/search-request.ts';
import type { CompileOptions } from '../search/compile-search.ts';
import { authorizeTraversal } from '../auth/guard.ts';
import { rowAccessFor } from '../auth/readable.ts';

export async function search(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const query = searchQuery(req);
  const parsed = parseRequest(req.resourceType, query, req.headers.prefer);
  const options = searchOptions(ctx, parsed);
  const page: Page = parsed.summary === 'count' ? { rows: [] } : await runPage(ctx.db, parsed, options, paging(ctx, req.resourceType, query));
  const total = await totalOf(ctx, parsed, page, options);
  const included = await loadIncludes(searchDb(ctx.db), parsed.include, parsed.revinclude, page.rows, options.access);
  const path = req.resourceType ?? '';
  const links: BundleLink[] = [{ relation: 'self', url: linkUrl(ctx.baseUrl, path, query, parsed.cursor) }];
  if (page.next) links.push({ relation: 'next', url: linkUrl(ctx.baseUrl, path, query, page.next) });
  if (page.previous) links.push({ relation: 'previous', url: linkUrl(ctx.baseUrl, path, query, page.previous) });
  const warnings = parsed.ignored.map((i) => issue('not-supported', { es: `Se ignoró ${i.name}: ${i.reason.es}`, en: `Ignored ${i.name}: ${i.reason.en}` }, i.name, 'warning'));
  const body = searchBundle({
    baseUrl: ctx.baseUrl,
    now: ctx.now(),
    total,
    links,
    matches: page.rows,
    included,
    outcome: warnings.length > 0 ? outcome(warnings) : undefined,
    summary: parsed.summary,
    elements: parsed.elements,
  });
  return { status: 200, body };
}

/**
 * How a search runs for the caller: its readable set goes into the SQL, and
 * every type a chain or _has passes through must be searchable (else 403;
 * see authorizeTraversal, which may narrow implicit chains in `parsed`).
 * Every search-shaped path (search, conditional matching, conditional references) starts here.
 */
export function searchOptions(ctx: FhirContext, parsed: SearchRequest): Omit<CompileOptions, 'cursor'> {
  parsed.filters = authorizeTraversal(ctx.actor, parsed.filters);
  return { baseUrl: ctx.baseUrl, now: ctx.now(), access: rowAccessFor(ctx.actor) };
}

/**
 * A cursor opens only for the same search (path and parameters, in any order)
 * by the same caller: one handed to someone else, or pasted into another search, is a 400.
 */
function paging(ctx: FhirContext, path: string | undefined, query: Query): Paging | undefined {
  if (!ctx.cursorKeys) return undefined;
  let bound: string | undefined;
  // Worked out only when a cursor is opened or sealed: most searches fit in one page.
  const bind = () => {
    const params = Object.entries(query)
      .filter(([k, v]) => v !== undefined && k !== '_cursor' && k !== '_format' && k !== '_pretty')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const who = ctx.actor ? [ctx.actor.issuer ?? '', ctx.actor.subject] : [];
    return JSON.stringify([who, path ?? '', params]);
  };
  return {
    keys: ctx.cursorKeys,
    get bound() {
      bound ??= bind();
      return bound;
    },
  };
}

/** The search parameters of a request: the URL query, plus the form body of POST _search. */
export function searchQuery(req: FhirRequest): Query {
  const query: Query = { ...req.query };
  if (req.method === 'POST' && typeof req.body === 'string' && req.body.length > 0) {
    for (const [k, v] of new URLSearchParams(req.body)) {
      const prev = query[k];
      query[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
    }
  }
  return query;
}

/** Parses a search for `resourceType` (or the system, with _type), applying the Prefer handling. */
export function parseRequest(resourceType: string | undefined, query: Query, prefer: string | undefined): SearchRequest {
  const types = resourceType !== undefined ? [resourceType] : systemTypes(query);
  const parsed = parseSearch(types, query);
  if (parsed.ignored.length > 0 && parsePrefer(prefer).handling === 'strict') {
    throw new FhirError(
      400,
      parsed.ignored.map((i) => issue('not-supported', i.reason, i.name)),
    );
  }
  return parsed;
}

function systemTypes(query: Query): string[] {
  const raw = query._type;
  const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  for (const t of list) {
    if (!isResourceType(t)) throw badRequest({ es: `_type contiene un tipo desconocido: ${t}`, en: `_type contains an unknown type: ${t}` }, '_type');
  }
  return [...new Set(list)];
}

async function totalOf(ctx: FhirContext, req: SearchRequest, page: Page, options: Omit<CompileOptions, 'cursor'>): Promise<number | undefined> {
  if (req.total === 'none') return undefined;
  // The page query of a driven search counted its matches on the way: exact, and free (so also the answer to estimate).
  if (page.total !== undefined) return page.total;
  const rows = page.rows.length;
  const paged = page.next !== undefined || req.cursor !== undefined;
  // The planner's estimate comes from statistics over every row, readable or not: a restricted caller gets the count.
  if (req.total === 'estimate' && !options.access) return estimateMatches(ctx.db, req, options);
  // All matches are on this one page: the total is free.
  if (!paged && req.summary !== 'count' && req.count > 0) return rows;
  return countMatches(ctx.db, req, options);
}

function linkUrl(baseUrl: string, path: string, query: Query, cursor: string | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (key === '_cursor' || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  }
  if (cursor !== undefined) params.set('_cursor', cursor);
  const qs = params.toString();
  return `${baseUrl}${path ? `/${path}` : ''}${qs ? `?${qs}` : ''}`;
}

/**
 * Conditional references in bundles (https://hl7.org/fhir/R4/http.html#trules):
 * `"reference": "Patient?identifier=urn:oid:2.16.840.1.113883.4.629|VIRB…"`
 * is a search that must match exactly one resource; it is then rewritten to
 * `Patient/<id>`. No match or several matches fail the entry (the whole
 * transaction), naming the reference. Resolving is a search on the caller's
 * behalf: it needs search permission on the type and sees only the readable set.
 */
import { badRequest, preconditionFailed } from './errors.ts';
import { parseRequest, searchOptions } from './search.ts';
import { authorize } from '../auth/guard.ts';
import { queryFromString } from './params.ts';
import type { FhirContext } from './types.ts';
import { runPage } from '../search/run-search.ts';
import type { SearchRequest } from '../search/search-request.ts';

const conditional = /^([A-Z][A-Za-z]+)\?(.+)$/;

function collect(node: unknown, into: Map<string, Record<string, unknown>[]>): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, into);
  } else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      if (key === 'reference' && typeof value === 'string' && conditional.test(value)) {
        into.set(value, [...(into.get(value) ?? []), record]);
      } else if (typeof value === 'object') {
        collect(value, into);
      }
    }
  }
}

function referenceSearch(type: string, search: string): SearchRequest {
  return parseRequest(type, { ...queryFromString(search), _count: '2' }, 'handling=strict');
}

/** The searches of the conditional references in `resource` (unparseable ones left to resolving, which names them). */
export function conditionalReferenceSearches(resource: unknown): SearchRequest[] {
  const found = new Map<string, Record<string, unknown>[]>();
  collect(resource, found);
  const out: SearchRequest[] = [];
  for (const reference of found.keys()) {
    const [, type = '', search = ''] = conditional.exec(reference) ?? [];
    try {
      out.push(referenceSearch(type, search));
    } catch {
      // Refused when the entry is resolved, with the entry named.
    }
  }
  return out;
}

/**
 * Resolves, in place, every conditional reference in `resource`; `where` names
 * the entry for errors. `resolved` carries the bundle's earlier resolutions:
 * a Synthea bundle names the same hospital or clinician in hundreds of
 * entries, and each search costs a round trip (HAPI keeps such a match-URL
 * cache per transaction too). Only single matches are kept.
 */
export async function resolveConditionalReferences(resource: unknown, ctx: FhirContext, where: string, resolved = new Map<string, string>()): Promise<void> {
  const found = new Map<string, Record<string, unknown>[]>();
  collect(resource, found);
  for (const [reference, holders] of found) {
    const known = resolved.get(reference);
    if (known) {
      for (const holder of holders) holder.reference = known;
      continue;
    }
    const [, type = '', search = ''] = conditional.exec(reference) ?? [];
    if (ctx.actor) authorize(ctx.actor, { permission: 's', resourceType: type });
    const parsed = referenceSearch(type, search);
    const options = searchOptions(ctx, parsed);
    // Looked up with the bundle's other criteria in one query when it has the one-token shape (bundle-matches.ts).
    const ids = ctx.matches?.lookup(parsed) ?? (await runPage(ctx.db, parsed, options)).rows.map((r) => r.id);
    if (ids.length === 0) {
      throw badRequest({ es: `La referencia condicional ${reference} no coincide con ningún recurso`, en: `Conditional reference ${reference} matches no resource` }, where, 'not-found');
    }
    if (ids.length > 1) {
      throw preconditionFailed({ es: `La referencia condicional ${reference} coincide con más de un recurso`, en: `Conditional reference ${reference} matches more than one resource` }, where);
    }
    const target = `${type}/${ids[0] ?? ''}`;
    resolved.set(reference, target);
    for (const holder of holders) holder.reference = target;
  }
}

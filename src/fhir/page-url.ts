/** Links of paged bundles: the request's own parameters with the page cursor replaced. */
import { badRequest } from './errors.ts';
import { single } from './params.ts';
import type { FhirRequest, Query } from './types.ts';

export function pageUrl(baseUrl: string, path: string, req: FhirRequest, cursor: string | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(req.query)) {
    if (key === '_cursor' || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  }
  if (cursor !== undefined) params.set('_cursor', cursor);
  const qs = params.toString();
  return `${baseUrl}/${path}${qs ? `?${qs}` : ''}`;
}

const maxBigint = 9223372036854775807n;

/**
 * A `_cursor` that is a sequence number (history, the audit trail): digits
 * within PostgreSQL's bigint, else 400 (not a database error).
 */
export function sequenceCursor(query: Query): string | undefined {
  const raw = single(query, '_cursor');
  if (raw === undefined) return undefined;
  if (!/^\d{1,19}$/.test(raw) || BigInt(raw) > maxBigint) {
    throw badRequest({ es: '_cursor inválido; vuelva a la primera página', en: 'Invalid _cursor; start again from the first page' }, '_cursor');
  }
  return raw;
}

/** Links of paged bundles: the request's own parameters with the page cursor replaced. */
import type { FhirRequest } from './types.ts';

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

/**
 * history at instance, type and system level: https://hl7.org/fhir/R4/http.html#history
 * Newest first; `_since`, `_at`, `_count`; `next` links carry a keyset cursor
 * (`_cursor`, the last history sequence number served) so paging stays stable
 * while others write. For mirroring, Bundle.meta.lastUpdated is the instant up
 * to which history is complete: the next `_since` (see history_sync_point).
 */
import { pageUrl, sequenceCursor } from './page-url.ts';
import { notFound } from './errors.ts';
import { parseCount, parseInstantParam } from './params.ts';

import type { FhirContext, FhirRequest, FhirResult } from './types.ts';
import { etag } from './versioning.ts';
import { compartmentOf, historySyncPoint, readHistory, type HistoryRow } from '../store/resource-store.ts';
import { outsideCompartment } from '../auth/guard.ts';
import { rowAccessFor } from '../auth/readable.ts';

export async function history(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const { resourceType, id } = req;
  if (resourceType !== undefined && id !== undefined) {
    const patients = await compartmentOf(ctx.db, resourceType, id);
    if (!patients || outsideCompartment(ctx.actor, resourceType, 'r', patients)) throw notFound({ es: `No existe ${resourceType}/${id}`, en: `${resourceType}/${id} not found` }, `${resourceType}.id`);
  }
  const count = parseCount(req.query);
  const since = parseInstantParam(req.query, '_since');
  const at = parseInstantParam(req.query, '_at');
  const cursor = sequenceCursor(req.query);
  // Taken before reading, so nothing committed after the read can predate it.
  const complete = await historySyncPoint(ctx.db);
  // One row more than asked tells whether a next page exists without counting.
  const rows = count === 0 ? [] : await readHistory(ctx.db, { resourceType, id, since, at, before: cursor, count: count + 1, access: rowAccessFor(ctx.actor) });
  const page = rows.slice(0, count);
  const path = [resourceType, id, '_history'].filter((p) => p !== undefined).join('/');
  const links = [{ relation: 'self', url: pageUrl(ctx.baseUrl, path, req, cursor) }];
  if (rows.length > count) {
    links.push({ relation: 'next', url: pageUrl(ctx.baseUrl, path, req, page[page.length - 1]?.seq) });
  }
  return { status: 200, body: historyBundle(ctx, links, page, complete) };
}

/** Serialised directly around the stored JSON so versions are never parsed and re-encoded. */
function historyBundle(ctx: FhirContext, links: { relation: string; url: string }[], rows: HistoryRow[], complete: Date): string {
  const entries = rows.map((row) => {
    const url = `${row.resourceType}/${row.id}`;
    const request = row.deleted ? { method: 'DELETE', url } : row.versionId === 1 ? { method: 'POST', url: row.resourceType } : { method: 'PUT', url };
    const status = row.deleted ? '204 No Content' : row.versionId === 1 ? '201 Created' : '200 OK';
    const response = { status, etag: etag(row.versionId), lastModified: row.lastUpdated.toISOString() };
    const resource = row.content === null ? '' : `,"resource":${row.content}`;
    return `{"fullUrl":${JSON.stringify(`${ctx.baseUrl}/${url}`)}${resource},"request":${JSON.stringify(request)},"response":${JSON.stringify(response)}}`;
  });
  // meta.lastUpdated is the sync point: a mirror asks next for _since=<this> and misses nothing.
  const head = { resourceType: 'Bundle', type: 'history', meta: { lastUpdated: complete.toISOString() }, link: links };
  return `${JSON.stringify(head).slice(0, -1)},"entry":[${entries.join(',')}]}`;
}


/**
 * Conditional create, update, delete and patch on top of search
 * (https://hl7.org/fhir/R4/http.html#cond-update and neighbours). The match
 * and the write run in one transaction holding an advisory lock per resource
 * type, so two concurrent conditional writes of the same type cannot both
 * see "no match" and both create. Criteria are parsed strictly: an unknown
 * parameter must not silently widen the match. Matching is a search: it needs
 * search permission on the type (as HAPI and Medplum ask) and runs within the
 * caller's readable set, so it can neither find nor reveal what the caller may not read.
 */
import { sql } from 'kysely';
import { create } from './create.ts';
import { remove } from './delete.ts';
import { badRequest, issue, notFound, outcome, preconditionFailed } from './errors.ts';
import { parsePrefer } from './prefer.ts';
import { patch } from './patch.ts';
import type { FhirContext, FhirRequest, FhirResult, Query } from './types.ts';
import { update } from './update.ts';
import { parseRequest, searchOptions } from './search.ts';
import { runPage } from '../search/run-search.ts';
import { flushPending } from '../store/pending-writes.ts';
import { authorize, canSee } from '../auth/guard.ts';
import type { SearchRequest } from '../search/search-request.ts';

type Matched = { id: string } | undefined;

/** POST /[type] with If-None-Exist: create only when nothing matches. */
export async function conditionalCreate(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const criteria = req.headers.ifNoneExist;
  if (criteria === undefined) return create(req, ctx);
  const query = ifNoneExistQuery(criteria);
  return withMatch(req, ctx, query, 'If-None-Exist', async (match, tx) => {
    if (!match) return create(req, tx);
    // Asked for no body (a bundle's usual entry): no read of the match.
    if (parsePrefer(req.headers.prefer).return === 'minimal') return { status: 200, headers: { location: `${ctx.baseUrl}/${req.resourceType}/${match.id}` } };
    const content = await readContent(tx, req.resourceType ?? '', match.id);
    // The match is readable (it was found within the readable set); the body also needs read permission itself.
    const body = content && (!ctx.actor || canSee(ctx.actor, JSON.parse(content))) ? content : undefined;
    return { status: 200, headers: { location: `${ctx.baseUrl}/${req.resourceType}/${match.id}` }, body };
  });
}

/** PUT /[type]?criteria: update the one match, or create when none. */
export async function conditionalUpdate(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  return withMatch(req, ctx, req.query, 'url', async (match, tx) => {
    const bodyId = (req.body as { id?: unknown } | undefined)?.id;
    if (match) {
      if (typeof bodyId === 'string' && bodyId !== match.id) {
        throw badRequest({ es: `El id del cuerpo (${bodyId}) no es el del recurso que cumple los criterios (${match.id})`, en: `Body id (${bodyId}) is not that of the matching resource (${match.id})` }, `${req.resourceType}.id`);
      }
      return update({ ...req, id: match.id, body: { ...(req.body as object), id: match.id } }, tx);
    }
    return typeof bodyId === 'string' ? update({ ...req, id: bodyId }, tx) : create({ ...req, method: 'POST' }, tx);
  });
}

/** DELETE /[type]?criteria: delete the one match; nothing to do when none. */
export async function conditionalDelete(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  return withMatch(req, ctx, req.query, 'url', async (match, tx) => {
    if (match) return remove({ ...req, id: match.id }, tx);
    const message = { es: `Ningún ${req.resourceType} cumple los criterios; nada que eliminar`, en: `No ${req.resourceType} matches the criteria; nothing to delete` };
    return parsePrefer(req.headers.prefer).return === 'minimal' ? { status: 204 } : { status: 200, body: outcome([issue('informational', message, undefined, 'information')]) };
  });
}

/** PATCH /[type]?criteria: patch the one match. */
export async function conditionalPatch(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  return withMatch(req, ctx, req.query, 'url', async (match, tx) => {
    if (!match) throw notFound({ es: `Ningún ${req.resourceType} cumple los criterios`, en: `No ${req.resourceType} matches the criteria` });
    return patch({ ...req, id: match.id }, tx);
  });
}

/** The criteria of an If-None-Exist header (with or without a leading `Type?`). */
export function ifNoneExistQuery(criteria: string): Query {
  return Object.fromEntries(groupParams(new URLSearchParams(criteria.replace(/^[^?]*\?/, ''))));
}

/** The search a conditional interaction matches with: its filters only, at most two rows. */
export function matchRequest(type: string, query: Query): SearchRequest {
  const criteria: Query = {};
  for (const [k, v] of Object.entries(query)) if (!k.startsWith('_') || k === '_id' || k === '_lastUpdated' || k === '_tag' || k === '_profile' || k === '_security' || k.startsWith('_has')) criteria[k] = v;
  return parseRequest(type, { ...criteria, _count: '2' }, 'handling=strict');
}

async function withMatch(req: FhirRequest, ctx: FhirContext, query: Query, where: string, write: (match: Matched, tx: FhirContext) => Promise<FhirResult>): Promise<FhirResult> {
  const type = req.resourceType ?? '';
  if (ctx.actor) authorize(ctx.actor, { permission: 's', resourceType: type });
  const parsed = matchRequest(type, query);
  if (parsed.filters.length === 0) {
    throw badRequest({ es: 'Una operación condicional necesita criterios de búsqueda', en: 'A conditional interaction needs search criteria' }, where);
  }
  const options = searchOptions(ctx, parsed);
  const run = async (db: FhirContext['db']): Promise<FhirResult> => {
    // Looked up with the bundle's other criteria, under this same lock taken before (bundle-matches.ts).
    let ids = ctx.matches?.lookup(parsed, true);
    if (!ids) {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${`conditional:${type}`}))`.execute(db);
      ids = (await runPage(db, parsed, options)).rows.map((r) => r.id);
    }
    if (ids.length > 1) {
      throw preconditionFailed({ es: `Más de un ${type} cumple los criterios`, en: `More than one ${type} matches the criteria` }, where);
    }
    const match = ids[0];
    return write(match ? { id: match } : undefined, { ...ctx, db });
  };
  return ctx.db.isTransaction ? run(ctx.db) : ctx.db.transaction().execute(run);
}

async function readContent(db: FhirContext, type: string, id: string): Promise<string | null | undefined> {
  await flushPending(db.db);
  const row = await db.db.selectFrom('resource').select('content').where('resource_type', '=', type).where('id', '=', id).executeTakeFirst();
  return row?.content;
}

function groupParams(params: URLSearchParams): [string, string | string[]][] {
  const out = new Map<string, string[]>();
  for (const [k, v] of params) out.set(k, [...(out.get(k) ?? []), v]);
  return [...out].map(([k, v]) => [k, v.length === 1 ? v[0]! : v]);
}

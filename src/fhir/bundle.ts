/**
 * POST to the base: transaction and batch bundles
 * (https://hl7.org/fhir/R4/http.html#transaction). Each entry is dispatched to
 * the same interaction (and the same authorization) as the equivalent HTTP
 * request. A transaction runs in one database transaction, entries in the
 * order the spec prescribes (DELETE, POST, PUT/PATCH, GET), with fullUrl
 * references resolved; any failure rolls everything back and the answer names
 * the entry. A batch runs entries independently, each with its own status.
 */
import type { Bundle, BundleEntry, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { accessFor, authorize, filterResult } from '../auth/guard.ts';
import { auditRow } from '../audit/audit-event.ts';
import { auditFacts, type AuditInfo } from '../audit/audit-info.ts';
import { assignTargets, rewriteReferences, type PlannedEntry } from './bundle-references.ts';
import { resolveConditionalReferences } from './conditional-references.ts';
import { WriteBatch } from './write-batch.ts';
import { BundleMatches, bundleCriteria } from './bundle-matches.ts';
import { sql } from 'kysely';
import type { AuditRow } from '../audit/audit-event.ts';
import { badRequest, FhirError, isFhirError, issue } from './errors.ts';
import { jsonPatchType } from './patch.ts';
import { parsePrefer } from './prefer.ts';
import { checkDeadline } from './deadline.ts';
import { matchRoute } from './route-match.ts';
import type { FhirRoute } from './routes.ts';
import { queryFromString } from './params.ts';
import type { FhirContext, FhirRequest, FhirResult, HttpMethod } from './types.ts';
import { parseJson } from '../json/lossless.ts';

export const defaultMaxBundleEntries = 10_000;
const methods: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const order: Record<PlannedEntry['method'], number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3 };
const reasons: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified' };

function requireBundle(body: unknown, maxBundleEntries: number): Bundle & { type: 'transaction' | 'batch' } {
  const bundle = body as Bundle | undefined;
  if (!bundle || typeof bundle !== 'object' || bundle.resourceType !== 'Bundle') {
    throw badRequest({ es: 'Se espera un Bundle de tipo transaction o batch', en: 'A Bundle of type transaction or batch is expected' }, 'Bundle');
  }
  if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
    throw badRequest({ es: `Bundle.type debe ser transaction o batch, no "${String(bundle.type)}"`, en: `Bundle.type must be transaction or batch, not "${String(bundle.type)}"` }, 'Bundle.type');
  }
  if ((bundle.entry?.length ?? 0) > maxBundleEntries) {
    throw new FhirError(413, [issue('too-costly', { es: `El Bundle excede ${maxBundleEntries} entradas`, en: `The Bundle exceeds ${maxBundleEntries} entries` }, 'Bundle.entry')]);
  }
  return bundle as Bundle & { type: 'transaction' | 'batch' };
}

function plan(entry: BundleEntry, index: number, baseUrl: string): PlannedEntry {
  const method = entry.request?.method;
  const url = entry.request?.url;
  if (!method || !methods.has(method) || !url) {
    throw badRequest({ es: `La entrada ${index} necesita request.method (GET, POST, PUT, PATCH, DELETE) y request.url`, en: `Entry ${index} needs request.method (GET, POST, PUT, PATCH, DELETE) and request.url` }, `Bundle.entry[${index}].request`);
  }
  const relative = url.startsWith(`${baseUrl}/`) ? url.slice(baseUrl.length + 1) : url.replace(/^\//, '');
  const q = relative.indexOf('?');
  return { index, method: method as PlannedEntry['method'], path: q === -1 ? relative : relative.slice(0, q), query: q === -1 ? '' : relative.slice(q + 1) };
}

/** A PATCH entry carries its JSON Patch as a Binary resource (https://hl7.org/fhir/R4/http.html#patch). */
function patchBody(resource: Resource | undefined, index: number): unknown {
  if (resource?.resourceType !== 'Binary' || !resource.data) {
    throw badRequest({ es: `La entrada ${index} (PATCH) debe llevar un Binary con el JSON Patch en data`, en: `Entry ${index} (PATCH) must carry a Binary holding the JSON Patch in data` }, `Bundle.entry[${index}].resource`);
  }
  try {
    return parseJson(Buffer.from(resource.data, 'base64').toString('utf8'));
  } catch {
    throw badRequest({ es: `La entrada ${index}: el JSON Patch en Binary.data no es JSON`, en: `Entry ${index}: the JSON Patch in Binary.data is not JSON` }, `Bundle.entry[${index}].resource.data`);
  }
}

interface EntryOutcome {
  status: number;
  result?: FhirResult;
  error?: FhirError;
}

async function runEntry(p: PlannedEntry, bundle: Bundle, routes: readonly FhirRoute[], req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const source = bundle.entry?.[p.index] ?? {};
  const match = matchRoute(routes, p.method as HttpMethod, p.path, `Bundle.entry[${p.index}].request.url`);
  // capabilities (GET metadata) is an interaction a batch may carry (R4 Bundle.entry.request); it needs no permission.
  const capabilities = match?.route.path === '/metadata' && p.method === 'GET';
  if (!match || (!capabilities && (!match.route.interaction || match.route.path === ''))) {
    throw badRequest({ es: `La entrada ${p.index} pide ${p.method} ${p.path}, que no es una interacción admitida en un Bundle`, en: `Entry ${p.index} asks for ${p.method} ${p.path}, which is not an interaction allowed in a Bundle` }, `Bundle.entry[${p.index}].request.url`);
  }
  const { route, params } = match;
  const entryReq: FhirRequest = {
    method: p.method,
    resourceType: params.type ?? route.resourceType,
    id: params.id,
    versionId: params.vid,
    query: queryFromString(p.query, `Bundle.entry[${p.index}].request.url`),
    body: p.method === 'PATCH' ? patchBody(source.resource, p.index) : source.resource,
    contentType: p.method === 'PATCH' ? jsonPatchType : 'application/fhir+json',
    assignedId: p.assignedId,
    headers: {
      ifMatch: source.request?.ifMatch,
      ifNoneMatch: source.request?.ifNoneMatch,
      ifModifiedSince: source.request?.ifModifiedSince,
      ifNoneExist: source.request?.ifNoneExist,
      prefer: req.headers.prefer,
    },
  };
  const actor = ctx.actor;
  const access = capabilities ? undefined : route.access ? route.access(entryReq) : accessFor(route.interaction ?? 'read', entryReq.resourceType);
  if (actor && access) {
    authorize(actor, access);
  }
  const result = await route.handler(entryReq, ctx);
  const reading = access?.permission === 'r' || access?.permission === 's';
  return actor && reading ? filterResult(actor, route.interaction === 'read' || route.interaction === 'vread', result) : result;
}

function entryAudit(parent: AuditInfo | undefined, p: PlannedEntry, routes: readonly FhirRoute[]): AuditInfo | undefined {
  if (!parent) return undefined;
  // An entry URL that cannot be matched (bad text) fails in runEntry; its audit record still names what it asked for.
  let match: ReturnType<typeof matchRoute>;
  try {
    match = matchRoute(routes, p.method as HttpMethod, p.path);
  } catch {
    match = undefined;
  }
  const [type, id] = p.path.split('/');
  return { ...parent, interaction: match?.route.interaction ?? 'operation', resourceType: type, resourceId: id && !id.startsWith('_') ? id : undefined, query: p.query || undefined, patients: new Set(), recordedInTransaction: false, done: false };
}

function responseEntry(result: FhirResult, prefer: string | undefined, method: string): BundleEntry {
  const headers = result.headers ?? {};
  const response: BundleEntry['response'] = { status: `${result.status} ${reasons[result.status] ?? ''}`.trim() };
  if (headers.location) response.location = headers.location;
  if (headers.etag) response.etag = headers.etag;
  if (headers['last-modified']) response.lastModified = new Date(headers['last-modified']).toISOString();
  const body = result.body === undefined ? undefined : ((typeof result.body === 'string' ? parseJson(result.body) : result.body) as Resource);
  if (body?.resourceType === 'OperationOutcome') {
    response.outcome = body;
    return { response };
  }
  // Writes answer minimally unless the client asked for the representation; reads always carry it.
  const wantBody = method === 'GET' || parsePrefer(prefer).return === 'representation';
  return wantBody && body ? { resource: body, response } : { response };
}

function errorEntry(error: FhirError): BundleEntry {
  return { response: { status: String(error.status), outcome: error.outcome } };
}

function locate(error: FhirError, p: PlannedEntry, resourceType: string | undefined): FhirError {
  const where = `Bundle.entry[${p.index}]`;
  const issues: OperationOutcomeIssue[] = error.outcome.issue.map((i) => ({
    ...i,
    details: { text: `${where} (${p.method} ${p.path}): ${i.details?.text ?? ''}` },
    expression: [
      where,
      ...(i.expression ?? []).map((e) => (resourceType && e.startsWith(`${resourceType}.`) ? `${where}.resource.${e.slice(resourceType.length + 1)}` : e)),
    ],
  }));
  return new FhirError(error.status, issues, error.headers);
}

export function bundleInteraction(routes: () => readonly FhirRoute[]) {
  return async function bundle(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
    const input = requireBundle(req.body, ctx.maxBundleEntries ?? defaultMaxBundleEntries);
    if (ctx.audit) ctx.audit.interaction = input.type;
    const planned = (input.entry ?? []).map((e, i) => plan(e, i, ctx.baseUrl));
    const outcomes: EntryOutcome[] = Array.from({ length: planned.length });
    const trail = ctx.auditTrail;
    if (input.type === 'transaction') {
      const targets = assignTargets(input, planned);
      for (const p of planned) {
        const entry = input.entry?.[p.index];
        const unresolved = rewriteReferences(entry?.resource, targets);
        if (unresolved.length > 0) {
          throw badRequest({ es: `La entrada ${p.index} referencia ${unresolved[0]}, que no es fullUrl de ninguna entrada`, en: `Entry ${p.index} references ${unresolved[0]}, which is no entry's fullUrl` }, `Bundle.entry[${p.index}].resource`);
        }
      }
      const sequence = [...planned].sort((a, b) => order[a.method] - order[b.method] || a.index - b.index);
      await ctx.db.transaction().execute(async (tx) => {
        // Every match criterion of the bundle in one query; every conditional reference is then resolved before
        // any entry runs, against the same state, so one resolution per distinct reference serves the whole bundle.
        const matches = await BundleMatches.load(tx, bundleCriteria(planned.map((p) => ({ ...p, entry: input.entry?.[p.index] }))), ctx.actor);
        const resolved = new Map<string, string>();
        for (const p of planned) {
          const where = `Bundle.entry[${p.index}].resource`;
          await resolveConditionalReferences(input.entry?.[p.index]?.resource, { ...ctx, db: tx, matches }, where, resolved).catch((err: unknown) => {
            throw isFhirError(err) ? locate(err, p, undefined) : err;
          });
        }
        // The creates (POST entries) go out together, one statement per table (write-batch.ts); any read flushes them first.
        const batch = new WriteBatch(tx);
        try {
          for (const p of sequence) {
            const audit = entryAudit(ctx.audit, p, routes());
            const entryCtx: FhirContext = { ...ctx, db: tx, audit, matches, writeBatch: p.method === 'POST' ? batch : undefined };
            try {
              if (p.method !== 'POST') await batch.flush();
              const result = await runEntry(p, input, routes(), req, entryCtx);
              outcomes[p.index] = { status: result.status, result };
              if (audit && trail && !audit.recordedInTransaction) await trail.appendIn(tx, auditRow(auditFacts(audit, result.status)));
            } catch (err) {
              throw isFhirError(err) ? locate(err, p, input.entry?.[p.index]?.resource?.resourceType ?? p.path.split('/')[0]) : err;
            }
          }
          await batch.close();
        } catch (err) {
          batch.discard();
          throw err;
        }
        // Its last entries (reads run last) may have used up the time: then nothing commits, since the client is told 503.
        checkDeadline(ctx);
      });
    } else {
      await runBatch(input, planned, outcomes, routes(), req, ctx);
    }
    const entry = outcomes.map((o, i) => (o.error ? errorEntry(o.error) : responseEntry(o.result ?? { status: 200 }, req.headers.prefer, planned[i]?.method ?? 'GET')));
    const body: Bundle = { resourceType: 'Bundle', type: input.type === 'transaction' ? 'transaction-response' : 'batch-response', entry };
    return { status: 200, body };
  };
}

/**
 * A batch: entries succeed or fail alone, a few hundred per database transaction (issue 21) so that its creates go out
 * set-based. An entry that can fail after writing (a write with hooks, an update, a delete, an operation) runs in
 * its own savepoint, rolled back alone when it fails; plain creates are only validated here and join the
 * independent write batch (write-batch.ts), whose one statement falls back to one per create if it fails.
 * Every match criterion of those entries is looked up in one query first (bundle-matches.ts); the audit rows of the
 * entries that wrote none go in one append at the end, in the same transaction.
 */
async function runBatch(input: Bundle, planned: PlannedEntry[], outcomes: EntryOutcome[], routes: readonly FhirRoute[], req: FhirRequest, ctx: FhirContext): Promise<void> {
  for (let start = 0; start < planned.length; start += batchChunk) await runBatchChunk(input, planned.slice(start, start + batchChunk), outcomes, routes, req, ctx);
}

/**
 * Entries per transaction of a batch. Its writes' audit rows lock one of the audit trail's lanes until it commits, and
 * its conditional creates their types' match locks: a whole 2,382-entry batch in one transaction held them for
 * seconds, and every other write (and read audit group) on that lane waited. Entries being independent, committing
 * every few hundred changes no answer.
 */
const batchChunk = 250;

async function runBatchChunk(input: Bundle, planned: PlannedEntry[], outcomes: EntryOutcome[], routes: readonly FhirRoute[], req: FhirRequest, ctx: FhirContext): Promise<void> {
  const trail = ctx.auditTrail;
  await ctx.db.transaction().execute(async (tx) => {
    const matches = await BundleMatches.load(tx, bundleCriteria(planned.map((p) => ({ ...p, entry: input.entry?.[p.index] }))), ctx.actor);
    const batch = new WriteBatch(tx, { independent: true });
    const audits = new Map<number, AuditInfo>();
    const rows: AuditRow[] = [];
    const failed = (p: PlannedEntry, err: FhirError) => {
      outcomes[p.index] = { status: err.status, error: err };
      const audit = audits.get(p.index);
      if (audit) rows.push(auditRow(auditFacts(audit, err.status, err.outcome.issue[0]?.details?.text)));
    };
    try {
      for (const p of planned) {
        const audit = entryAudit(ctx.audit, p, routes);
        if (audit) audits.set(p.index, audit);
        const entryCtx: FhirContext = { ...ctx, db: tx, audit, matches, writeBatch: p.method === 'POST' ? batch : undefined };
        const guarded = !unguarded(p, routes, ctx);
        const failures = batch.failures.size;
        batch.setTag(p.index);
        try {
          if (guarded) {
            await batch.flush();
            await sql`SAVEPOINT bundle_entry`.execute(tx);
          }
          await resolveConditionalReferences(input.entry?.[p.index]?.resource, entryCtx, `Bundle.entry[${p.index}].resource`);
          const result = await runEntry(p, input, routes, req, entryCtx);
          if (guarded) await sql`RELEASE SAVEPOINT bundle_entry`.execute(tx);
          outcomes[p.index] = { status: result.status, result };
          if (audit && !audit.recordedInTransaction) rows.push(auditRow(auditFacts(audit, result.status)));
        } catch (err) {
          if (!isFhirError(err)) throw err;
          batch.drop(p.index);
          if (guarded) {
            await sql`ROLLBACK TO SAVEPOINT bundle_entry`.execute(tx);
            await sql`RELEASE SAVEPOINT bundle_entry`.execute(tx);
            matches.forgetAll();
          }
          failed(p, err);
        }
        // A create sent meanwhile that could not be written is gone: what the matches learnt from it no longer holds.
        if (batch.failures.size > failures) matches.forgetAll();
      }
      batch.setTag(undefined);
      await batch.close();
    } catch (err) {
      batch.discard();
      throw err;
    }
    // Creates that could not be written even alone: their entry fails, the others stand.
    for (const [index, err] of batch.failures) {
      const p = planned.find((q) => q.index === index);
      if (p) failed(p, err);
    }
    if (trail && rows.length > 0) await trail.appendIn(tx, ...rows);
    checkDeadline(ctx);
  });
}

/**
 * Entries that need no savepoint of their own. A create with no write hook for its type either joins the write
 * batch (nothing is sent before the batch's own guarded statement) or is one statement that either writes or
 * fails the request (a database error, as before): nothing can refuse it after it wrote. A read writes nothing.
 * (Operations may write, so they are guarded even when read with GET.) Savepoints are kept to what needs them:
 * past 64 subtransactions that wrote, every visibility check of the transaction slows down (the hospital batch
 * took 30 s with one per entry, 9.75 s without, on the loaded bench machine).
 */
function unguarded(p: PlannedEntry, routes: readonly FhirRoute[], ctx: FhirContext): boolean {
  if (p.method !== 'POST' && p.method !== 'GET') return false;
  let match: ReturnType<typeof matchRoute>;
  try {
    match = matchRoute(routes, p.method, p.path);
  } catch {
    return false;
  }
  const interaction = match?.route.interaction;
  if (p.method === 'GET') return interaction !== undefined && interaction !== 'operation';
  if (interaction !== 'create') return false;
  const type = match?.params.type ?? match?.route.resourceType ?? '';
  return !(ctx.writeHooks ?? []).some((h) => !h.types || h.types.includes(type));
}

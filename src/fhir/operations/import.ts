/**
 * Bulk import, `POST /$import` (the async pattern of Bulk Data export, as
 * HAPI FHIR and Azure offer it): the body is either NDJSON itself
 * (application/fhir+ndjson, streamed to disk) or a Parameters resource naming
 * NDJSON URLs the server may fetch (`input` parts `url` and optional `type`;
 * only under IMPORT_ALLOWED_SOURCES). Needs `Prefer: respond-async`. Answers
 * 202 with Content-Location `/$import-status/{job}`: 202 + X-Progress while
 * it runs, 200 with the manifest when done (resources per type, and the
 * per-line OperationOutcome NDJSON at `/$import-errors/{job}` if any line
 * failed), 500 if it failed; DELETE cancels (what was committed stays).
 *
 * Who may import: an `admin` or `institution` token with a system-level
 * scope allowing create and update (e.g. `system/*.cu`); each line is still
 * authorised for its own type, like a bundle entry.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Parameters } from '@medplum/fhirtypes';
import { forbidden } from '../../auth/guard.ts';
import { errorPage, type ImportJob } from '../../import/import-jobs.ts';
import { storedActor, type ImportService } from '../../import/import-service.ts';
import { isAllowedSource, type ImportSource } from '../../import/import-sources.ts';
import { UploadedNdjson } from '../../import/upload.ts';
import { isResourceType } from '../definitions.ts';
import { badRequest, FhirError, issue, notFound, outcome } from '../errors.ts';
import { parsePrefer } from '../prefer.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';
import { ndjsonTypes } from '../../import/upload.ts';

function service(ctx: FhirContext): ImportService {
  if (!ctx.imports) {
    throw new FhirError(501, [issue('not-supported', { es: 'Este servidor no tiene importación masiva configurada', en: 'Bulk import is not configured on this server' })]);
  }
  return ctx.imports;
}

function requireImporter(ctx: FhirContext): void {
  const actor = ctx.actor;
  if (!actor) return;
  const role = actor.role === 'admin' || actor.role === 'institution';
  const scope = actor.scopes.some((s) => s.context === 'system' && s.permissions.has('c') && s.permissions.has('u'));
  if (!role || !scope) {
    throw forbidden({ es: 'Solo un token admin o institution con alcance system/ de escritura (p. ej. system/*.cu) puede importar', en: 'Only an admin or institution token with a system/ write scope (e.g. system/*.cu) may import' });
  }
}

function text(part: { valueUri?: string; valueUrl?: string; valueString?: string; valueCode?: string }): string | undefined {
  return part.valueUri ?? part.valueUrl ?? part.valueString ?? part.valueCode;
}

/** The URL sources of a Parameters body, each checked against the allow-list. */
export function urlSources(body: unknown, allowed: readonly string[]): ImportSource[] {
  const params = body as Parameters | undefined;
  if (params?.resourceType !== 'Parameters') {
    throw badRequest({ es: 'Se espera NDJSON (application/fhir+ndjson) o un Parameters con parámetros input', en: 'Expected NDJSON (application/fhir+ndjson) or a Parameters resource with input parameters' }, 'Parameters');
  }
  const sources: ImportSource[] = [];
  for (const [i, p] of (params.parameter ?? []).entries()) {
    const where = `Parameters.parameter[${i}]`;
    if (p.name === 'inputFormat') {
      const format = text(p);
      if (format && !ndjsonTypes.includes(format)) throw badRequest({ es: `inputFormat no admitido "${format}": solo application/fhir+ndjson`, en: `Unsupported inputFormat "${format}": only application/fhir+ndjson` }, where);
      continue;
    }
    if (p.name !== 'input') continue;
    const parts = p.part ?? [];
    const url = parts.find((q) => q.name === 'url');
    const type = parts.find((q) => q.name === 'type');
    const href = url ? text(url) : undefined;
    if (!href) throw badRequest({ es: 'Cada input necesita una parte url', en: 'Each input needs a url part' }, `${where}.part`, 'required');
    if (!isAllowedSource(href, allowed)) {
      throw new FhirError(400, [issue('security', { es: `La URL ${href} no está entre las fuentes permitidas (IMPORT_ALLOWED_SOURCES)`, en: `The URL ${href} is not among the allowed sources (IMPORT_ALLOWED_SOURCES)` }, `${where}.part`)]);
    }
    const typeName = type ? text(type) : undefined;
    if (typeName !== undefined && !isResourceType(typeName)) throw badRequest({ es: `Tipo de recurso desconocido "${typeName}"`, en: `Unknown resource type "${typeName}"` }, `${where}.part`);
    sources.push({ kind: 'url', url: href, ...(typeName ? { type: typeName } : {}) });
  }
  if (sources.length === 0) throw badRequest({ es: 'El Parameters no nombra ningún input', en: 'The Parameters names no input' }, 'Parameters.parameter', 'required');
  return sources;
}

export async function importKickOff(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const imports = service(ctx);
  const upload = req.body instanceof UploadedNdjson ? req.body : undefined;
  try {
    requireImporter(ctx);
    if (!parsePrefer(req.headers.prefer).respondAsync) {
      throw badRequest({ es: '$import es asíncrono: envíe el encabezado Prefer: respond-async', en: '$import is asynchronous: send the header Prefer: respond-async' }, 'Prefer');
    }
    const type = typeof req.query.type === 'string' ? req.query.type : undefined;
    if (type !== undefined && !isResourceType(type)) throw badRequest({ es: `Tipo de recurso desconocido "${type}"`, en: `Unknown resource type "${type}"` }, 'type');
    const sources: ImportSource[] = upload ? [{ kind: 'upload', file: upload.file, ...(type ? { type } : {}) }] : urlSources(req.body, imports.allowedSources);
    const id = randomUUID();
    const actor = ctx.actor ?? { subject: 'anonymous', scope: '', scopes: [] };
    await imports.kickOff({ id, request: `${ctx.baseUrl}/$import`, owner: actor.subject, actor: storedActor(actor), baseUrl: ctx.baseUrl, ownBaseUrls: ctx.ownBaseUrls ?? [ctx.baseUrl], sources });
    const accepted = outcome([issue('informational', { es: `Importación ${id} aceptada; consulte su estado en Content-Location`, en: `Import ${id} accepted; poll its status at Content-Location` }, undefined, 'information')]);
    return { status: 202, headers: { 'content-location': `${ctx.baseUrl}/$import-status/${id}` }, body: accepted };
  } catch (err) {
    if (upload) await imports.removeUpload(upload.file);
    throw err;
  }
}

async function ownJob(ctx: FhirContext, id: string): Promise<ImportJob> {
  const job = await service(ctx).read(id);
  if (!job || job.status === 'cancelled') throw notFound({ es: `No existe la importación ${id}`, en: `No import ${id}` });
  if (ctx.actor && ctx.actor.subject !== job.owner) {
    throw forbidden({ es: 'Solo quien inició la importación puede consultarla o cancelarla', en: 'Only whoever started the import may poll or cancel it' });
  }
  return job;
}

function progressText(job: ImportJob): string {
  return `${job.imported} recursos importados, ${job.failed} líneas con error (fuente ${Math.min(job.sourceIndex + 1, job.sources.length)} de ${job.sources.length}) / ${job.imported} resources imported, ${job.failed} lines failed (source ${Math.min(job.sourceIndex + 1, job.sources.length)} of ${job.sources.length})`;
}

export async function importStatus(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const job = await ownJob(ctx, req.id ?? '');
  if (job.status === 'in-progress') return { status: 202, headers: { 'x-progress': progressText(job), 'retry-after': '2' } };
  if (job.status === 'failed') return { status: 500, body: outcome([issue('exception', { es: job.error ?? 'la importación falló', en: job.error ?? 'the import failed' })]) };
  const manifest = {
    transactionTime: job.transactionTime.toISOString(),
    request: job.request,
    requiresAccessToken: true,
    output: Object.entries(job.counts).sort(([a], [b]) => (a < b ? -1 : 1)).map(([type, count]) => ({ type, count })),
    error: job.failed > 0 ? [{ type: 'OperationOutcome', url: `${ctx.baseUrl}/$import-errors/${job.id}`, count: job.failed }] : [],
  };
  return { status: 200, headers: { 'cache-control': 'no-store' }, contentType: 'application/json; charset=utf-8', body: JSON.stringify(manifest) };
}

export async function cancelImportJob(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const job = await ownJob(ctx, req.id ?? '');
  if (!(await service(ctx).cancel(job))) {
    throw new FhirError(409, [issue('conflict', { es: `La importación ${job.id} ya terminó`, en: `Import ${job.id} has already finished` })]);
  }
  return { status: 202, body: outcome([issue('informational', { es: `Importación ${job.id} cancelada; lo ya confirmado queda importado`, en: `Import ${job.id} cancelled; what was already committed stays imported` }, undefined, 'information')]) };
}

/** The per-line error report, read from the database page by page as it is sent. */
export async function importErrors(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const job = await ownJob(ctx, req.id ?? '');
  const db = ctx.db;
  async function* lines(): AsyncGenerator<string> {
    let after: [number, number] = [-1, -1];
    for (;;) {
      const rows = await errorPage(db, job.id, after, 1000);
      if (rows.length === 0) return;
      yield `${rows.map((r) => r.outcome).join('\n')}\n`;
      const last = rows[rows.length - 1]!;
      after = [last.source_index, Number(last.line)];
    }
  }
  return { status: 200, contentType: 'application/fhir+ndjson', stream: Readable.from(lines()) };
}

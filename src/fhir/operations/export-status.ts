/**
 * Bulk Data status, cancel and file download
 * (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request):
 * `GET /$export-status/{job}` answers 202 with X-Progress while the job runs,
 * 200 with the manifest when it is done, 500 with an OperationOutcome when it
 * failed; `DELETE` cancels it and removes its files (202; afterwards 404).
 * Files are served from `GET /$export-file/{job}.{Type}-{n}.ndjson` and, like
 * the status, only to a token of the same issuer, subject, client, role and
 * scopes as the one that started the export (`requiresAccessToken: true`).
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { forbidden } from '../../auth/guard.ts';
import { exportOwner } from '../../export/export-owner.ts';
import type { ExportJob } from '../../export/export-jobs.ts';
import type { ExportService } from '../../export/export-service.ts';
import { FhirError, issue, notFound, outcome } from '../errors.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';

function service(ctx: FhirContext): ExportService {
  if (!ctx.exports) {
    throw new FhirError(501, [issue('not-supported', { es: 'Este servidor no tiene exportación masiva configurada', en: 'Bulk export is not configured on this server' })]);
  }
  return ctx.exports;
}

/** The job, if it exists, is not cancelled, and belongs to the caller. */
async function ownJob(ctx: FhirContext, id: string): Promise<ExportJob> {
  const job = await service(ctx).read(id);
  if (!job || job.status === 'cancelled') {
    throw notFound({ es: `No existe la exportación ${id}`, en: `No export ${id}` });
  }
  if (ctx.actor && exportOwner(ctx.actor) !== job.owner) {
    throw forbidden({ es: 'Solo un token de quien inició la exportación (mismo emisor, sujeto, cliente, rol y alcances) puede consultarla, descargarla o cancelarla', en: 'Only a token of whoever started the export (same issuer, subject, client, role and scopes) may poll, download or cancel it' });
  }
  return job;
}

export async function exportStatus(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const job = await ownJob(ctx, req.id ?? '');
  if (job.status === 'in-progress') {
    return { status: 202, headers: { 'x-progress': job.progress ?? 'en cola / queued', 'retry-after': '2' } };
  }
  if (job.status === 'failed') {
    return { status: 500, body: outcome([issue('exception', { es: job.error ?? 'la exportación falló', en: job.error ?? 'the export failed' })]) };
  }
  const manifest = {
    transactionTime: job.transactionTime?.toISOString(),
    request: job.request,
    requiresAccessToken: true,
    output: job.output.map((f) => ({ type: f.type, url: `${ctx.baseUrl}/$export-file/${job.id}.${f.name}`, count: f.count })),
    // What handling=lenient left out: one OperationOutcome in an NDJSON file, as the IG's `error` entries are.
    error: hasNotes(job) ? [{ type: 'OperationOutcome', url: `${ctx.baseUrl}/$export-file/${job.id}.${ignoredFile}` }] : [],
  };
  return { status: 200, headers: { 'cache-control': 'no-store' }, contentType: 'application/json; charset=utf-8', body: JSON.stringify(manifest) };
}

export async function cancelExport(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const job = await ownJob(ctx, req.id ?? '');
  await service(ctx).cancel(job.id);
  return { status: 202, body: outcome([issue('informational', { es: `Exportación ${job.id} cancelada y sus archivos borrados`, en: `Export ${job.id} cancelled and its files removed` }, undefined, 'information')]) };
}

const ignoredFile = 'OperationOutcome-0.ndjson';

function hasNotes(job: ExportJob): boolean {
  return Boolean(job.plan.ignored?.length || job.plan.notes?.length);
}

function ignoredOutcome(job: ExportJob): string {
  const ignored = (job.plan.ignored ?? []).map((p) => issue('not-supported', { es: `Parámetro ignorado (Prefer: handling=lenient): ${p}`, en: `Parameter ignored (Prefer: handling=lenient): ${p}` }, p, 'warning'));
  const notes = (job.plan.notes ?? []).map((n) => issue('not-supported', { es: `Omitido (Prefer: handling=lenient): ${n.es}`, en: `Left out (Prefer: handling=lenient): ${n.en}` }, n.expression, 'warning'));
  return `${JSON.stringify(outcome([...ignored, ...notes]))}\n`;
}

const fileId = /^([0-9a-f-]{36})\.([A-Z][A-Za-z]+-\d+\.ndjson)$/;

export async function exportFile(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const match = fileId.exec(req.id ?? '');
  const missing = notFound({ es: `No existe el archivo ${req.id ?? ''}`, en: `No file ${req.id ?? ''}` });
  if (!match) throw missing;
  const [, id = '', name = ''] = match;
  const job = await ownJob(ctx, id);
  if (name === ignoredFile && job.status === 'completed' && hasNotes(job)) {
    return { status: 200, contentType: 'application/fhir+ndjson', body: ignoredOutcome(job) };
  }
  // Only names the job wrote: nothing else on disk can be reached.
  if (job.status !== 'completed' || !job.output.some((f) => f.name === name)) throw missing;
  const file = service(ctx).filePath(id, name);
  await access(file).catch(() => {
    throw missing;
  });
  return { status: 200, contentType: 'application/fhir+ndjson', stream: createReadStream(file) };
}

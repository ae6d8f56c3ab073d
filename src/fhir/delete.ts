/**
 * delete: https://hl7.org/fhir/R4/http.html#delete. Soft: the current version
 * becomes a tombstone (reads answer 410) and history keeps every version, as
 * NOM-004 requires. Deleting what is missing or already deleted succeeds
 * without writing anything (idempotent).
 */
import { bilingual, outcome } from './errors.ts';
import { parsePrefer } from './prefer.ts';
import type { FhirContext, FhirRequest, FhirResult } from './types.ts';
import { etag, tombstone } from './versioning.ts';
import { writeVersion } from './versioned-write.ts';
import { refuseConformanceWrite } from './structure-definitions.ts';

export async function remove(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const type = req.resourceType ?? '';
  const id = req.id ?? '';
  refuseConformanceWrite(type, id);
  const now = ctx.now();
  const result = await writeVersion(ctx, type, id, req.headers.ifMatch, (current) => (current && !current.deleted ? tombstone(current, now) : undefined), 'd');
  const message = result
    ? { es: `${type}/${id} eliminado; su historial se conserva`, en: `${type}/${id} deleted; its history is kept` }
    : { es: `${type}/${id} no existe o ya estaba eliminado; nada que hacer`, en: `${type}/${id} does not exist or was already deleted; nothing to do` };
  const headers: Record<string, string> = result ? { etag: etag(result.stored.versionId) } : {};
  if (parsePrefer(req.headers.prefer).return === 'minimal') {
    return { status: 204, headers };
  }
  return { status: 200, headers, body: outcome([{ severity: 'information', code: 'informational', details: { text: bilingual(message) } }]) };
}
